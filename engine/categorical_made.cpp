#include "categorical_made.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "flow_math.hpp"
#include "layer.hpp"
#include "parallel.hpp"

namespace ef {

template <class T>
CategoricalMade<T>::CategoricalMade(std::vector<int> levels, int C, const std::vector<int>& hidden,
                                    Activation act, Degrees deg, uint64_t seed, ParamLayout& layout,
                                    const std::string& prefix)
    : levels_(std::move(levels)), C_(C), seed_(seed) {
  EF_CHECK(!levels_.empty(), "categorical model needs at least one column");
  std::vector<int> in_deg, out_deg;
  for (size_t g = 0; g < levels_.size(); ++g) {
    EF_CHECK(levels_[g] >= 1, "categorical column with no levels");
    off_.push_back(W_);
    W_ += levels_[g];
    for (int k = 0; k < levels_[g]; ++k) {
      in_deg.push_back(int(g) + 1);
      out_deg.push_back(int(g) + 1);
    }
  }
  for (int j = 0; j < C; ++j) in_deg.push_back(0);
  std::vector<int> sizes{W_ + C};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(W_);
  mlp_ = MaskedMLP<T>(sizes, made_masks_general<T>(in_deg, out_deg, groups(), C > 0, hidden, deg, seed, nullptr),
                      act, layout, prefix + ".made");
}

template <class T>
void CategoricalMade<T>::pack(const int* codes, int B, std::vector<T>& in) const {
  const int G = groups();
  in.assign(size_t(B) * W_, T(0));
  if (!codes) return;
  for (int r = 0; r < B; ++r) {
    T* row = &in[size_t(r) * W_];
    for (int g = 0; g < G; ++g) {
      const int k = codes[size_t(r) * G + g];
      if (k >= 0) row[off_[g] + k] = T(1);
    }
  }
}

template <class T>
void CategoricalMade<T>::onehot(const int* codes, int B, T* out, int stride, int col) const {
  const int G = groups();
  for (int r = 0; r < B; ++r) {
    T* row = out + size_t(r) * stride + col;
    std::fill(row, row + W_, T(0));
    for (int g = 0; g < G; ++g) {
      const int k = codes[size_t(r) * G + g];
      if (k >= 0) row[off_[g] + k] = T(1);
    }
  }
}

template <class T>
void CategoricalMade<T>::forward(const T* P, const int* codes, const T* ctx, int B, T* logp,
                                 CatCache<T>& c) const {
  const int G = groups();
  pack(codes, B, c.in);
  c.logits.resize(size_t(B) * W_);
  mlp_.forward_ctx(P, c.in.data(), W_, ctx, B, c.mlp, c.logits.data());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
  for (int r = 0; r < B; ++r) {
    const T* h = &c.logits[size_t(r) * W_];
    T lp = 0;
    for (int g = 0; g < G; ++g) {
      const T* hg = h + off_[g];
      const T mx = *std::max_element(hg, hg + levels_[g]);
      T s = 0;
      for (int k = 0; k < levels_[g]; ++k) s += math::exp(hg[k] - mx);
      const int k = codes[size_t(r) * G + g];
      lp += hg[k] - mx - math::log(s);
    }
    logp[r] += lp;
  }
}

template <class T>
void CategoricalMade<T>::backward(const T* P, const T* dlogp, int B, T* grads, T* dctx,
                                  CatCache<T>& c) const {
  const int G = groups();
  c.dlogits.resize(size_t(B) * W_);
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
  for (int r = 0; r < B; ++r) {
    const T* h = &c.logits[size_t(r) * W_];
    const T* in = &c.in[size_t(r) * W_];
    T* d = &c.dlogits[size_t(r) * W_];
    for (int g = 0; g < G; ++g) {
      const T* hg = h + off_[g];
      const T mx = *std::max_element(hg, hg + levels_[g]);
      T s = 0;
      for (int k = 0; k < levels_[g]; ++k) s += math::exp(hg[k] - mx);
      // d log softmax_k* / d h_k = 1[k = k*] - softmax_k; the one-hot input row holds 1[k = k*].
      for (int k = 0; k < levels_[g]; ++k)
        d[off_[g] + k] = dlogp[r] * (in[off_[g] + k] - math::exp(hg[k] - mx) / s);
    }
  }
  // The one-hot inputs need no gradient; dctx gets its share directly.
  mlp_.backward_ctx(P, c.mlp, c.dlogits.data(), B, grads, nullptr, dctx, c.scratch);
}

template <class T>
void CategoricalMade<T>::sample(const T* P, const T* ctx, int B, uint64_t seed, uint64_t stream,
                                uint64_t row_offset, const int* fixed, int* codes,
                                CatCache<T>& c) const {
  const int G = groups();
  for (size_t i = 0; i < size_t(B) * G; ++i) codes[i] = fixed ? fixed[i] : -1;
  c.logits.resize(size_t(B) * W_);
  for (int g = 0; g < G; ++g) {
    bool all_fixed = true;
    for (int r = 0; r < B && all_fixed; ++r) all_fixed = codes[size_t(r) * G + g] >= 0;
    if (all_fixed) continue;
    pack(codes, B, c.in);
    mlp_.forward_ctx(P, c.in.data(), W_, ctx, B, c.mlp, c.logits.data());
    for (int r = 0; r < B; ++r) {
      int& code = codes[size_t(r) * G + g];
      if (code >= 0) continue;
      const T* hg = &c.logits[size_t(r) * W_ + off_[g]];
      const T mx = *std::max_element(hg, hg + levels_[g]);
      double s = 0;
      for (int k = 0; k < levels_[g]; ++k) s += std::exp(double(hg[k] - mx));
      double u = math::rand_uniform(seed, stream, (row_offset + uint64_t(r)) * uint64_t(G) + uint64_t(g)) * s;
      int k = 0;
      for (; k + 1 < levels_[g]; ++k) {
        u -= std::exp(double(hg[k] - mx));
        if (u < 0) break;
      }
      code = k;
    }
  }
}

template <class T>
void CategoricalMade<T>::init_from_data(T* P, const int* codes, int N) const {
  const int G = groups();
  T* bias = P + mlp_.bias_offset(mlp_.num_layers() - 1);
  for (int g = 0; g < G; ++g) {
    std::vector<double> count(levels_[g], 0.5);  // add-1/2 smoothing
    for (int r = 0; r < N; ++r) {
      const int k = codes[size_t(r) * G + g];
      if (k >= 0 && k < levels_[g]) count[k] += 1;
    }
    for (int k = 0; k < levels_[g]; ++k) bias[off_[g] + k] = T(std::log(count[k] / (N + 0.5 * levels_[g])));
  }
}

template class CategoricalMade<float>;
template class CategoricalMade<double>;

}  // namespace ef
