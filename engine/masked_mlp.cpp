#include "masked_mlp.hpp"

#include <algorithm>
#include <cmath>

#include "blas.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "parallel.hpp"

namespace ef {
namespace {

// Row blocks of one layer with their column prefixes. Blocks of at least kMinRows rows keep
// every GEMM wide enough to run near the full rate; a layer whose blocks would save under 15%
// of the dense work stays one block (one GEMM).
template <class T>
std::vector<ColumnBlock> plan_blocks(const std::vector<T>& M, int nout, int nin) {
  constexpr int kMinRows = 32, kMaxBlocks = 16;
  const std::vector<ColumnBlock> dense{{0, nout, nin}};
  if (nout < 2 * kMinRows) return dense;
  std::vector<int> ext(nout, 0);  // last nonzero column + 1 of each row
  for (int o = 0; o < nout; ++o)
    for (int j = nin; j-- > 0;)
      if (M[size_t(o) * nin + j] != T(0)) {
        ext[o] = j + 1;
        break;
      }
  const int rows = std::max(kMinRows, (nout + kMaxBlocks - 1) / kMaxBlocks);
  std::vector<ColumnBlock> b;
  double work = 0;
  for (int r0 = 0; r0 < nout; r0 += rows) {
    const int r1 = std::min(nout, r0 + rows);
    const int k = *std::max_element(ext.begin() + r0, ext.begin() + r1);
    if (!b.empty() && b.back().k == k) {
      b.back().r1 = r1;  // merge neighbours with the same prefix: fewer, wider GEMMs
    } else {
      b.push_back({r0, r1, k});
    }
    work += double(r1 - r0) * k;
  }
  return work <= 0.85 * double(nout) * nin ? b : dense;
}

}  // namespace

template <class T>
MaskedMLP<T>::MaskedMLP(std::vector<int> sizes, std::vector<std::vector<T>> masks, Activation act,
                        ParamLayout& layout, const std::string& prefix)
    : sizes_(std::move(sizes)), masks_(std::move(masks)), act_(act) {
  EF_CHECK(sizes_.size() >= 2, "MaskedMLP needs at least an input and an output size");
  EF_CHECK(masks_.size() == sizes_.size() - 1, "MaskedMLP: one mask per layer expected");
  for (int l = 0; l < num_layers(); ++l) {
    size_t n = size_t(sizes_[l + 1]) * size_t(sizes_[l]);
    EF_CHECK(masks_[l].size() == n, "MaskedMLP: mask ", l, " has the wrong size");
    blocks_.push_back(plan_blocks(masks_[l], sizes_[l + 1], sizes_[l]));
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
double MaskedMLP<T>::executed_flops_per_row() const {
  double f = 0;
  for (int l = 0; l < num_layers(); ++l)
    for (const ColumnBlock& b : blocks_[l]) f += 2.0 * (b.r1 - b.r0) * b.k;
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
  c.h.resize(num_layers());  // h[0] = input copy, h[1..L-1] = hidden activations
  c.h[0].assign(X, X + size_t(B) * sizes_[0]);
  c.a = c.ctx = nullptr;
  c.na = 0;
  run_forward(params, c.h[0].data(), sizes_[0], nullptr, B, c, Y);
}

template <class T>
void MaskedMLP<T>::forward_ctx(const T* params, const T* A, int na, const T* ctx, int B,
                               MlpCache<T>& c, T* Y) const {
  EF_CHECK(na >= 0 && na <= sizes_[0], "MaskedMLP::forward_ctx: ", na, " of ", sizes_[0], " inputs in A");
  EF_CHECK((na == 0 || A) && (na == sizes_[0] || ctx), "MaskedMLP::forward_ctx: missing input block");
  c.h.resize(num_layers());
  c.h[0].clear();
  c.a = A;
  c.ctx = ctx;
  c.na = na;
  run_forward(params, A, na, ctx, B, c, Y);
}

template <class T>
void MaskedMLP<T>::backward(const T* params, const MlpCache<T>& c, const T* dY, int B, T* grads,
                            T* dX, MlpCache<T>& s) const {
  EF_CHECK(!c.a && !c.ctx, "MaskedMLP::backward after forward_ctx: use backward_ctx");
  run_backward(params, c, c.h[0].data(), sizes_[0], nullptr, dY, B, grads, dX, nullptr, s);
}

template <class T>
void MaskedMLP<T>::backward_ctx(const T* params, const MlpCache<T>& c, const T* dY, int B,
                                T* grads, T* dA, T* dctx, MlpCache<T>& s) const {
  EF_CHECK(c.na == sizes_[0] || c.ctx, "MaskedMLP::backward_ctx without forward_ctx");
  run_backward(params, c, c.a, c.na, c.ctx, dY, B, grads, dA, dctx, s);
}

template <class T>
void MaskedMLP<T>::run_forward(const T* params, const T* A, int na, const T* ctx, int B,
                               MlpCache<T>& c, T* Y) const {
  const int L = num_layers();
  const int nc = sizes_[0] - na;  // context columns of the first layer's input
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
    const T* W = params + w_off_[l];
    const T* in = l == 0 ? A : c.h[l].data();
    const int ld_in = l == 0 ? na : nin;
    for (const ColumnBlock& bk : blocks_[l]) {  // out[:, r0:r1] += in[:, :k] W[r0:r1, :k]^T
      // In the first layer, columns [0, na) come from A and [na, k) from ctx.
      const int ka = l == 0 ? std::min(bk.k, na) : bk.k, kc = bk.k - ka;
      if (ka > 0)
        gemm_par(false, true, B, bk.r1 - bk.r0, ka, T(1), in, ld_in, W + size_t(bk.r0) * nin, nin,
                 T(1), out + bk.r0, nout);
      if (kc > 0)
        gemm_par(false, true, B, bk.r1 - bk.r0, kc, T(1), ctx, nc, W + size_t(bk.r0) * nin + na,
                 nin, T(1), out + bk.r0, nout);
    }
    if (!last) {
      const size_t n = size_t(B) * nout;
      if (act_ == Activation::ReLU) {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
        for (size_t i = 0; i < n; ++i) out[i] = out[i] > T(0) ? out[i] : T(0);
      } else {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
        for (size_t i = 0; i < n; ++i) out[i] = math::tanh(out[i]);
      }
    }
  }
}

template <class T>
void MaskedMLP<T>::run_backward(const T* params, const MlpCache<T>& c, const T* A, int na,
                                const T* ctx, const T* dY, int B, T* grads, T* dA, T* dctx,
                                MlpCache<T>& s) const {
  const int L = num_layers();
  const int nc = sizes_[0] - na;
  // dz holds a layer's output gradient, dz_prev a hidden layer's input gradient: the input
  // layer's width (a context can be thousands wide) never sizes them.
  const int maxn = *std::max_element(sizes_.begin() + 1, sizes_.end());
  s.dz.resize(size_t(B) * maxn);
  s.dz_prev.resize(size_t(B) * maxn);
  std::copy(dY, dY + size_t(B) * sizes_[L], s.dz.begin());
  for (int l = L - 1; l >= 0; --l) {
    const int nin = sizes_[l], nout = sizes_[l + 1];
    const T* in = l == 0 ? A : c.h[l].data();
    const int ld_in = l == 0 ? na : nin;
    // dW_l += dz^T in, then zero the masked entries (their weights must stay exactly zero).
    // Only each block's column prefix: the rest of gW stays untouched (its mask is zero).
    T* gW = grads + w_off_[l];
    const T* M = masks_[l].data();
    for (const ColumnBlock& bk : blocks_[l]) {
      if (bk.k == 0) continue;
      const int ka = l == 0 ? std::min(bk.k, na) : bk.k, kc = bk.k - ka;
      if (ka > 0)
        gemm_par(true, false, bk.r1 - bk.r0, ka, B, T(1), s.dz.data() + bk.r0, nout, in, ld_in,
                 T(1), gW + size_t(bk.r0) * nin, nin);
      if (kc > 0)
        gemm_par(true, false, bk.r1 - bk.r0, kc, B, T(1), s.dz.data() + bk.r0, nout, ctx, nc,
                 T(1), gW + size_t(bk.r0) * nin + na, nin);
      const int nr = bk.r1 - bk.r0;
#pragma omp parallel for schedule(static) if (size_t(nr) * bk.k >= ef::kOmpMinElems)
      for (int o = bk.r0; o < bk.r1; ++o)
        for (int j = 0; j < bk.k; ++j) gW[size_t(o) * nin + j] *= M[size_t(o) * nin + j];
    }
    T* gb = grads + b_off_[l];
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < nout; ++j) gb[j] += s.dz[size_t(r) * nout + j];
    const T* W = params + w_off_[l];
    const std::vector<ColumnBlock>& bl = blocks_[l];
    if (l == 0) {
      // dA = dz W_0[:, :na] (overwritten), dctx += dz W_0[:, na:].
      if (dA && na > 0) {
        if (bl.size() == 1 && bl[0].k >= na) {
          gemm_par(false, false, B, na, nout, T(1), s.dz.data(), nout, W, nin, T(0), dA, na);
        } else {  // dA[:, :k] += dz[:, r0:r1] W[r0:r1, :k], block by block
          std::fill(dA, dA + size_t(B) * na, T(0));
          for (const ColumnBlock& bk : bl) {
            const int ka = std::min(bk.k, na);
            if (ka > 0)
              gemm_par(false, false, B, ka, bk.r1 - bk.r0, T(1), s.dz.data() + bk.r0, nout,
                       W + size_t(bk.r0) * nin, nin, T(1), dA, na);
          }
        }
      }
      if (dctx && nc > 0)
        for (const ColumnBlock& bk : bl)
          if (bk.k > na)
            gemm_par(false, false, B, bk.k - na, bk.r1 - bk.r0, T(1), s.dz.data() + bk.r0, nout,
                     W + size_t(bk.r0) * nin + na, nin, T(1), dctx, nc);
      break;
    }
    // d in = dz W_l  (B, nin)
    T* din = s.dz_prev.data();
    if (bl.size() == 1 && bl[0].k == nin) {
      gemm_par(false, false, B, nin, nout, T(1), s.dz.data(), nout, W, nin, T(0), din, nin);
    } else {  // din[:, :k] += dz[:, r0:r1] W[r0:r1, :k], block by block
      std::fill(din, din + size_t(B) * nin, T(0));
      for (const ColumnBlock& bk : bl)
        if (bk.k > 0)
          gemm_par(false, false, B, bk.k, bk.r1 - bk.r0, T(1), s.dz.data() + bk.r0, nout,
                   W + size_t(bk.r0) * nin, nin, T(1), din, nin);
    }
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

template class MaskedMLP<float>;
template class MaskedMLP<double>;

}  // namespace ef
