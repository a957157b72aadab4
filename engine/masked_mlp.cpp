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
  const int L = num_layers();
  c.h.resize(L);  // h[0] = input copy, h[1..L-1] = hidden activations
  for (int l = 0; l < L; ++l) c.h[l].resize(size_t(B) * sizes_[l]);
  for_tiles(B, executed_flops_per_row() * B, [&](int r0, int rn) {
    std::copy(X + size_t(r0) * sizes_[0], X + size_t(r0 + rn) * sizes_[0],
              c.h[0].data() + size_t(r0) * sizes_[0]);
    for (int l = 0; l < L; ++l) {
      const int nin = sizes_[l], nout = sizes_[l + 1];
      const bool last = l == L - 1;
      const T* in = c.h[l].data() + size_t(r0) * nin;
      T* out = (last ? Y : c.h[l + 1].data()) + size_t(r0) * nout;
      const T* b = params + b_off_[l];
      // Bias first, then out += in W^T, one GEMM per column block with beta = 1.
      for (int r = 0; r < rn; ++r) std::copy(b, b + nout, out + size_t(r) * nout);
      const T* W = params + w_off_[l];
      for (const ColumnBlock& bk : blocks_[l])  // out[:, r0:r1] += in[:, :k] W[r0:r1, :k]^T
        if (bk.k > 0)
          gemm(false, true, rn, bk.r1 - bk.r0, bk.k, T(1), in, nin, W + size_t(bk.r0) * nin, nin,
               T(1), out + bk.r0, nout);
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
void MaskedMLP<T>::backward(const T* params, const MlpCache<T>& c, const T* dY, int B, T* grads,
                            T* dX, MlpCache<T>& s) const {
  const int L = num_layers();
  // dz[l] = dL/d(pre-activation output of layer l), (B, n_{l+1}); the last one is dY itself.
  s.h.resize(L);
  for (int l = 0; l + 1 < L; ++l) s.h[l].resize(size_t(B) * sizes_[l + 1]);
  auto dz = [&](int l) -> const T* { return l == L - 1 ? dY : s.h[l].data(); };
  // 1. The input gradients, tile by tile through every layer (rows are independent):
  //    d in = dz W_l, then through the activation of layer l-1.
  for_tiles(B, executed_flops_per_row() * B, [&](int r0, int rn) {
    for (int l = L - 1; l >= 0; --l) {
      if (l == 0 && !dX) break;
      const int nin = sizes_[l], nout = sizes_[l + 1];
      const T* g = dz(l) + size_t(r0) * nout;
      T* din = (l == 0 ? dX : s.h[l - 1].data()) + size_t(r0) * nin;
      const T* W = params + w_off_[l];
      const std::vector<ColumnBlock>& bl = blocks_[l];
      if (bl.size() == 1 && bl[0].k == nin) {
        gemm(false, false, rn, nin, nout, T(1), g, nout, W, nin, T(0), din, nin);
      } else {  // din[:, :k] += dz[:, r0:r1] W[r0:r1, :k], block by block
        std::fill(din, din + size_t(rn) * nin, T(0));
        for (const ColumnBlock& bk : bl)
          if (bk.k > 0)
            gemm(false, false, rn, bk.k, bk.r1 - bk.r0, T(1), g + bk.r0, nout,
                 W + size_t(bk.r0) * nin, nin, T(1), din, nin);
      }
      if (l == 0) break;
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
  //    its own rows of the gradient, so the pieces can run on any thread in any order.
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
    gemm(true, false, p.o1 - p.o0, p.k, B, T(1), g + p.o0, nout, c.h[p.l].data(), nin, T(1),
         gW + size_t(p.o0) * nin, nin);
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
