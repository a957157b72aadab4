#include "masked_mlp.hpp"

#include <algorithm>
#include <cmath>

#include "blas.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "parallel.hpp"

namespace ef {

template <class T>
MaskedMLP<T>::MaskedMLP(std::vector<int> sizes, std::vector<std::vector<T>> masks, Activation act,
                        ParamLayout& layout, const std::string& prefix)
    : sizes_(std::move(sizes)), masks_(std::move(masks)), act_(act) {
  EF_CHECK(sizes_.size() >= 2, "MaskedMLP needs at least an input and an output size");
  EF_CHECK(masks_.size() == sizes_.size() - 1, "MaskedMLP: one mask per layer expected");
  for (int l = 0; l < num_layers(); ++l) {
    size_t n = size_t(sizes_[l + 1]) * size_t(sizes_[l]);
    EF_CHECK(masks_[l].size() == n, "MaskedMLP: mask ", l, " has the wrong size");
    w_off_.push_back(layout.add(prefix + ".W" + std::to_string(l), n));
    b_off_.push_back(layout.add(prefix + ".b" + std::to_string(l), size_t(sizes_[l + 1])));
  }
}

template <class T>
double MaskedMLP<T>::flops_per_row() const {
  double f = 0;
  for (int l = 0; l < num_layers(); ++l) f += 2.0 * sizes_[l] * sizes_[l + 1];
  return f;
}

template <class T>
void MaskedMLP<T>::init(T* params, uint64_t seed, double out_scale) const {
  for (int l = 0; l < num_layers(); ++l) {
    int nin = sizes_[l], nout = sizes_[l + 1];
    double bound = 1.0 / std::sqrt(double(std::max(nin, 1)));
    if (l == num_layers() - 1) bound *= out_scale;
    T* W = params + w_off_[l];
    for (size_t i = 0; i < size_t(nin) * nout; ++i) {
      double u = math::rand_uniform(seed, 1000 + l, i) * 2.0 - 1.0;
      W[i] = T(u * bound) * masks_[l][i];
    }
    std::fill(params + b_off_[l], params + b_off_[l] + nout, T(0));
  }
}

template <class T>
void MaskedMLP<T>::forward(const T* params, const T* X, int B, MlpCache<T>& c, T* Y) const {
  const int L = num_layers();
  c.h.resize(L);  // h[0] = input copy, h[1..L-1] = hidden activations
  c.h[0].assign(X, X + size_t(B) * sizes_[0]);
  for (int l = 0; l < L; ++l) {
    const int nin = sizes_[l], nout = sizes_[l + 1];
    const bool last = l == L - 1;
    T* out;
    if (last) {
      out = Y;
    } else {
      c.h[l + 1].resize(size_t(B) * nout);
      out = c.h[l + 1].data();
    }
    const T* b = params + b_off_[l];
    // Bias first, then out += in W^T in one GEMM with beta = 1.
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) std::copy(b, b + nout, out + size_t(r) * nout);
    gemm_par(false, true, B, nout, nin, T(1), c.h[l].data(), nin, params + w_off_[l], nin, T(1), out,
         nout);
    if (!last) {
      const size_t n = size_t(B) * nout;
      if (act_ == Activation::ReLU) {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
        for (size_t i = 0; i < n; ++i) out[i] = out[i] > T(0) ? out[i] : T(0);
      } else {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
        for (size_t i = 0; i < n; ++i) out[i] = std::tanh(out[i]);
      }
    }
  }
}

template <class T>
void MaskedMLP<T>::backward(const T* params, const MlpCache<T>& c, const T* dY, int B, T* grads,
                            T* dX, MlpCache<T>& s) const {
  const int L = num_layers();
  const int maxn = *std::max_element(sizes_.begin(), sizes_.end());
  s.dz.resize(size_t(B) * maxn);
  s.dz_prev.resize(size_t(B) * maxn);
  std::copy(dY, dY + size_t(B) * sizes_[L], s.dz.begin());
  for (int l = L - 1; l >= 0; --l) {
    const int nin = sizes_[l], nout = sizes_[l + 1];
    const T* in = c.h[l].data();
    // dW_l += dz^T in, then zero the masked entries (their weights must stay exactly zero).
    T* gW = grads + w_off_[l];
    gemm_par(true, false, nout, nin, B, T(1), s.dz.data(), nout, in, nin, T(1), gW, nin);
    const T* M = masks_[l].data();
    const size_t nw = size_t(nout) * nin;
#pragma omp parallel for schedule(static) if (nw >= ef::kOmpMinElems)
    for (size_t i = 0; i < nw; ++i) gW[i] *= M[i];
    T* gb = grads + b_off_[l];
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < nout; ++j) gb[j] += s.dz[size_t(r) * nout + j];
    if (l == 0 && !dX) break;
    // d in = dz W_l  (B, nin)
    T* din = l == 0 ? dX : s.dz_prev.data();
    gemm_par(false, false, B, nin, nout, T(1), s.dz.data(), nout, params + w_off_[l], nin, T(0), din,
         nin);
    if (l > 0) {
      // Through the activation of layer l-1's output (saved in c.h[l]).
      const size_t n = size_t(B) * nin;
      if (act_ == Activation::ReLU) {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
        for (size_t i = 0; i < n; ++i) din[i] = in[i] > T(0) ? din[i] : T(0);
      } else {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
        for (size_t i = 0; i < n; ++i) din[i] *= T(1) - in[i] * in[i];
      }
      std::swap(s.dz, s.dz_prev);
    }
  }
}

template class MaskedMLP<float>;
template class MaskedMLP<double>;

}  // namespace ef
