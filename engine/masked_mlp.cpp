#include "masked_mlp.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "blas.hpp"
#include "dense_f32.hpp"
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
    pack_index_.push_back(l == 0 ? 0 : pack_index_.back() + blocks_.back().size());
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

// Rows are processed in the fixed tiles of gemm_par (kGemmTileRows), each tile through every
// layer in one go: one OpenMP region per pass instead of one per GEMM, bias and activation on
// data still in cache, and the narrow column-block GEMMs of MADE layers (each too small to split
// on its own) shared by the threads tile by tile. Every GEMM call gets the same rows, shapes and
// operands as gemm_par would give it, so the bits do not depend on the thread count.
namespace {
template <class F>
void for_tiles(int B, double flops, F&& run) {
  const int tile = kGemmTileRows, tiles = (B + tile - 1) / tile;
  auto one = [&](int t) {
    const int r0 = t * tile;
    run(r0, std::min(B, r0 + tile) - r0);
  };
  const int threads = std::min(tiles, free_threads());
  if (threads <= 1 || flops < 4e6) {
    for (int t = 0; t < tiles; ++t) one(t);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < tiles; ++t) one(t);
}
}  // namespace

template <class T>
void MaskedMLP<T>::forward(const T* params, const T* X, int B, MlpCache<T>& c, T* Y) const {
  c.h.resize(num_layers());  // h[0] = input copy (filled tile by tile), h[1..L-1] = activations
  c.h[0].resize(size_t(B) * sizes_[0]);
  c.a = c.ctx = nullptr;
  c.na = 0;
  run_forward(params, X, sizes_[0], nullptr, B, c, Y);
}

template <class T>
void MaskedMLP<T>::forward_ctx(const T* params, const T* A, int na, const T* ctx, int B,
                               MlpCache<T>& c, T* Y) const {
  EF_CHECK(na >= 0 && na <= sizes_[0], "MaskedMLP::forward_ctx: ", na, " of ", sizes_[0], " inputs in A");
  EF_CHECK((na == 0 || A) && (na == sizes_[0] || ctx), "MaskedMLP::forward_ctx: missing input block");
  c.h.resize(num_layers());
  c.h[0].clear();  // no input copy: backward_ctx reads A and ctx in place
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

// The first layer's input is [A (B, na) | ctx (B, nc)]: each column block's GEMM runs as two,
// over A's columns [0, min(k, na)) and ctx's [na, k) of W_0. With nc == 0 (forward/backward on
// a packed input) this is exactly the one GEMM per block of before.
template <class T>
void MaskedMLP<T>::run_forward(const T* params, const T* A, int na, const T* ctx, int B,
                               MlpCache<T>& c, T* Y) const {
  const int L = num_layers();
  const int nc = sizes_[0] - na;  // context columns of the first layer's input
  const bool copy_in = !c.h[0].empty();  // forward: keep the packed input for backward
  for (int l = 1; l < L; ++l) c.h[l].resize(size_t(B) * sizes_[l]);
  bool packed = false;  // float with AVX2 + FMA: every block through dense_f32, packed once here
  (void)packed;
  if constexpr (std::is_same_v<T, float>) {
    if (dense_f32_available()) {
      packed = true;
      size_t i = 0;
      for (int l = 0; l < L; ++l)
        for (const ColumnBlock& bk : blocks_[l]) {
          if (c.packs.size() <= i) c.packs.emplace_back();
          const int nin = sizes_[l], ka = l == 0 ? std::min(bk.k, na) : bk.k;
          const float* wb = params + w_off_[l] + size_t(bk.r0) * nin;
          c.packs[i++].pack(bk.r1 - bk.r0, wb, ka, wb + na, bk.k - ka, nin, params + b_off_[l] + bk.r0);
        }
    }
  }
  for_tiles(B, executed_flops_per_row() * B, [&](int r0, int rn) {
    if (copy_in)
      std::copy(A + size_t(r0) * na, A + size_t(r0 + rn) * na, c.h[0].data() + size_t(r0) * na);
    for (int l = 0; l < L; ++l) {
      const int nin = sizes_[l], nout = sizes_[l + 1];
      const bool last = l == L - 1;
      // Layer 0 reads A (ld na) then ctx (ld nc); the others read c.h[l] (ld nin).
      const T* in = l == 0 ? A + size_t(r0) * na : c.h[l].data() + size_t(r0) * nin;
      const int ld_in = l == 0 ? na : nin;
      T* out = (last ? Y : c.h[l + 1].data()) + size_t(r0) * nout;
      const T* b = params + b_off_[l];
      const T* W = params + w_off_[l];
      if constexpr (std::is_same_v<T, float>) {
        if (packed) {
          // One pass per column block: bias, both sources and ReLU (engine/dense_f32.hpp).
          const bool relu = !last && act_ == Activation::ReLU;
          for (const ColumnBlock& bk : blocks_[l])
            c.packs[pack_index_[l] + size_t(&bk - blocks_[l].data())].run(
                rn, in, ld_in, nc > 0 ? ctx + size_t(r0) * nc : nullptr, nc, relu, out + bk.r0, nout);
          if (!last && act_ != Activation::ReLU) {
            const size_t n = size_t(rn) * nout;
            for (size_t i = 0; i < n; ++i) out[i] = math::tanh(out[i]);
          }
          continue;
        }
      }
      // Bias first, then out += in W^T, one GEMM per column block (two in layer 0 with a
      // context) with beta = 1.
      for (int r = 0; r < rn; ++r) std::copy(b, b + nout, out + size_t(r) * nout);
      for (const ColumnBlock& bk : blocks_[l]) {  // out[:, r0:r1] += in[:, :k] W[r0:r1, :k]^T
        const int ka = l == 0 ? std::min(bk.k, na) : bk.k, kc = bk.k - ka;
        if (ka > 0)
          gemm(false, true, rn, bk.r1 - bk.r0, ka, T(1), in, ld_in, W + size_t(bk.r0) * nin, nin,
               T(1), out + bk.r0, nout);
        if (kc > 0)
          gemm(false, true, rn, bk.r1 - bk.r0, kc, T(1), ctx + size_t(r0) * nc, nc,
               W + size_t(bk.r0) * nin + na, nin, T(1), out + bk.r0, nout);
      }
      if (last) break;
      const size_t n = size_t(rn) * nout;
      if (act_ == Activation::ReLU) {
        for (size_t i = 0; i < n; ++i) out[i] = out[i] > T(0) ? out[i] : T(0);
      } else {
        for (size_t i = 0; i < n; ++i) out[i] = math::tanh(out[i]);
      }
    }
  });
}

template <class T>
void MaskedMLP<T>::run_backward(const T* params, const MlpCache<T>& c, const T* A, int na,
                                const T* ctx, const T* dY, int B, T* grads, T* dA, T* dctx,
                                MlpCache<T>& s) const {
  const int L = num_layers();
  const int nc = sizes_[0] - na;
  if (na == 0) dA = nullptr;
  if (nc == 0) dctx = nullptr;
  // dz[l] = dL/d(pre-activation output of layer l), (B, n_{l+1}); the last one is dY itself.
  // The input layer's width (a context can be thousands wide) never sizes this scratch.
  s.h.resize(L);
  for (int l = 0; l + 1 < L; ++l) s.h[l].resize(size_t(B) * sizes_[l + 1]);
  auto dz = [&](int l) -> const T* { return l == L - 1 ? dY : s.h[l].data(); };
  // 1. The input gradients, tile by tile through every layer (rows are independent):
  //    d in = dz W_l, then through the activation of layer l-1.
  for_tiles(B, executed_flops_per_row() * B, [&](int r0, int rn) {
    for (int l = L - 1; l >= 0; --l) {
      const int nin = sizes_[l], nout = sizes_[l + 1];
      const T* g = dz(l) + size_t(r0) * nout;
      const T* W = params + w_off_[l];
      const std::vector<ColumnBlock>& bl = blocks_[l];
      if (l == 0) {
        // dA = dz W_0[:, :na] (overwritten), dctx += dz W_0[:, na:].
        if (dA) {
          T* da = dA + size_t(r0) * na;
          if (bl.size() == 1 && bl[0].k >= na) {
            gemm(false, false, rn, na, nout, T(1), g, nout, W, nin, T(0), da, na);
          } else {  // dA[:, :k] += dz[:, r0:r1] W[r0:r1, :k], block by block
            std::fill(da, da + size_t(rn) * na, T(0));
            for (const ColumnBlock& bk : bl) {
              const int ka = std::min(bk.k, na);
              if (ka > 0)
                gemm(false, false, rn, ka, bk.r1 - bk.r0, T(1), g + bk.r0, nout,
                     W + size_t(bk.r0) * nin, nin, T(1), da, na);
            }
          }
        }
        if (dctx)
          for (const ColumnBlock& bk : bl)
            if (bk.k > na)
              gemm(false, false, rn, bk.k - na, bk.r1 - bk.r0, T(1), g + bk.r0, nout,
                   W + size_t(bk.r0) * nin + na, nin, T(1), dctx + size_t(r0) * nc, nc);
        break;
      }
      T* din = s.h[l - 1].data() + size_t(r0) * nin;
      if (bl.size() == 1 && bl[0].k == nin) {
        gemm(false, false, rn, nin, nout, T(1), g, nout, W, nin, T(0), din, nin);
      } else {  // din[:, :k] += dz[:, r0:r1] W[r0:r1, :k], block by block
        std::fill(din, din + size_t(rn) * nin, T(0));
        for (const ColumnBlock& bk : bl)
          if (bk.k > 0)
            gemm(false, false, rn, bk.k, bk.r1 - bk.r0, T(1), g + bk.r0, nout,
                 W + size_t(bk.r0) * nin, nin, T(1), din, nin);
      }
      // Through the activation of layer l-1's output (saved in c.h[l]).
      const T* in = c.h[l].data() + size_t(r0) * nin;
      const size_t n = size_t(rn) * nin;
      if (act_ == Activation::ReLU) {
        for (size_t i = 0; i < n; ++i) din[i] = in[i] > T(0) ? din[i] : T(0);
      } else {
        for (size_t i = 0; i < n; ++i) din[i] *= T(1) - in[i] * in[i];
      }
    }
  });
  // 2. The parameter gradients, sums over all rows: dW_l += dz_l^T in_l over each column block,
  //    in the fixed 64-row pieces of gemm_par (kGemmTileRowsT), then the masked entries zeroed
  //    (their weights must stay exactly zero); db_l += column sums of dz_l. Every piece writes
  //    its own rows of the gradient, so the pieces can run on any thread in any order. Layer 0's
  //    input is A's columns then ctx's, read in place.
  struct Piece {
    int l, o0, o1, k;  // weight rows [o0, o1) over columns [0, k); k < 0: the bias of layer l
  };
  std::vector<Piece> pieces;
  for (int l = 0; l < L; ++l) {
    pieces.push_back({l, 0, 0, -1});
    for (const ColumnBlock& bk : blocks_[l])
      if (bk.k > 0)
        for (int o = bk.r0; o < bk.r1; o += kGemmTileRowsT)
          pieces.push_back({l, o, std::min(bk.r1, o + kGemmTileRowsT), bk.k});
  }
  auto piece = [&](const Piece& p) {
    const int nin = sizes_[p.l], nout = sizes_[p.l + 1];
    const T* g = dz(p.l);
    if (p.k < 0) {
      T* gb = grads + b_off_[p.l];
      for (int r = 0; r < B; ++r)
        for (int j = 0; j < nout; ++j) gb[j] += g[size_t(r) * nout + j];
      return;
    }
    T* gW = grads + w_off_[p.l];
    const int ka = p.l == 0 ? std::min(p.k, na) : p.k, kc = p.k - ka;
    if (ka > 0)
      gemm(true, false, p.o1 - p.o0, ka, B, T(1), g + p.o0, nout, p.l == 0 ? A : c.h[p.l].data(),
           p.l == 0 ? na : nin, T(1), gW + size_t(p.o0) * nin, nin);
    if (kc > 0)
      gemm(true, false, p.o1 - p.o0, kc, B, T(1), g + p.o0, nout, ctx, nc, T(1),
           gW + size_t(p.o0) * nin + na, nin);
    const T* M = masks_[p.l].data();
    for (int o = p.o0; o < p.o1; ++o)
      for (int j = 0; j < p.k; ++j) gW[size_t(o) * nin + j] *= M[size_t(o) * nin + j];
  };
  const int np = int(pieces.size());
  if (executed_flops_per_row() * B < 4e6 || free_threads() <= 1) {
    for (const Piece& p : pieces) piece(p);
    return;
  }
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < np; ++i) piece(pieces[i]);
}

template class MaskedMLP<float>;
template class MaskedMLP<double>;

}  // namespace ef
