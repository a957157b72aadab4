// The fused conditioner MLP (docs/ARCHITECTURE.md; tiny-cuda-nn's fully fused MLP is the model):
// one thread team owns a tile of kTileRows rows and runs it through every layer of a MaskedMLP
// with the activations in on-chip scratch, writing to global memory only what backward needs (each
// hidden layer's output) and the result. Its backward twin computes every layer's
// pre-activation gradient dZ and dX the same way; the weight gradients stay GEMMs (cuBLAS) over
// the dZ it wrote, because they reduce over the batch, not over a tile.
//
// The tile bodies are written for a cooperative team (rank, size, sync): the CUDA kernel
// (kernels/fused_mlp.cu) runs them with a thread block and shared memory, the host executor
// (engine/host_exec.hpp) with a team of one and a host array, so tests/unit/test_fused_mlp.cpp
// checks the GPU's algorithm against MaskedMLP::forward/backward on the CPU. Between two syncs
// a team member touches only the items of its strided loop, so a team of one doing them all in
// order computes exactly what the block computes.
//
// Work split of one layer (out = in W^T + b, W (nout, nin) row-major), per chunk of kChunk
// input columns:
//   1. the team copies W[:, k0 : k0 + kc] into scratch, transposed (Ws[kk][j], row stride
//      nout + 1 so that neither the copy nor the reads hit one shared-memory bank twice);
//   2. item (g, j) accumulates kRowsPerItem rows of output column j in registers over the chunk
//      (one Ws read serves kRowsPerItem FMAs; the input value is a broadcast), adding to what
//      the previous chunks left in the output buffer; the last chunk applies the activation.
// Backward chunks over the output units j instead: d_in[r][k] = sum_j dZ[r][j] W[j][k] reads W
// rows directly (consecutive k: coalesced, no transpose).
// Letters: R rows of the tile, L layers, n_l = sizes[l].
#pragma once
#include <cstddef>

#include "mlp_ops.hpp"

namespace ef::ops {

constexpr int kFusedMaxLayers = 8;
constexpr int kFusedMaxWidth = 256;  // widths above this take the GEMM path
constexpr int kFusedTileRows = 32;
constexpr int kFusedChunk = 32;
constexpr int kFusedRowsPerItem = 8;
constexpr int kFusedThreads = 256;  // CUDA block size

// One MLP on a flat parameter buffer. h[l] (B, n_l) for 0 < l < L: the hidden outputs the
// forward writes and the backward reads.
struct FusedMlp {
  int L = 0;
  int sizes[kFusedMaxLayers + 1] = {};
  const float* W[kFusedMaxLayers] = {};
  const float* b[kFusedMaxLayers] = {};
  float* h[kFusedMaxLayers + 1] = {};
  Act act = Act::ReLU;
  int max_width = 0;
};

// Scratch floats per team: two activation tiles and one weight chunk.
EF_HD size_t fused_scratch_floats(int max_width) {
  return size_t(2) * kFusedTileRows * max_width + size_t(kFusedChunk) * (max_width + 1);
}

// A team of one (the host executor): every strided loop runs all its items, sync is a no-op.
struct SerialTeam {
  EF_HD int rank() const { return 0; }
  EF_HD int size() const { return 1; }
  EF_HD void sync() const {}
};

// Forward of tile `tile`: Y rows [tile R, tile R + R) = MLP(X rows), hidden outputs to m.h.
template <class Team>
EF_HD void fused_mlp_forward_tile(const Team& t, const FusedMlp& m, const float* X, int B,
                                  int tile, float* Y, float* scratch) {
  const int row0 = tile * kFusedTileRows;
  const int R = B - row0 < kFusedTileRows ? B - row0 : kFusedTileRows;
  float* in = scratch;
  float* out = scratch + kFusedTileRows * m.max_width;
  float* Ws = scratch + 2 * kFusedTileRows * m.max_width;
  const int n0 = m.sizes[0];
  for (int i = t.rank(); i < R * n0; i += t.size()) in[i] = X[size_t(row0) * n0 + i];
  t.sync();
  for (int l = 0; l < m.L; ++l) {
    const int nin = m.sizes[l], nout = m.sizes[l + 1];
    const bool last = l == m.L - 1;
    const float* W = m.W[l];
    const float* bias = m.b[l];
    const int groups = (R + kFusedRowsPerItem - 1) / kFusedRowsPerItem;
    const int chunks = nin > 0 ? (nin + kFusedChunk - 1) / kFusedChunk : 1;  // nin 0: bias only
    for (int c = 0; c < chunks; ++c) {
      const int k0 = c * kFusedChunk;
      const int kc = nin - k0 < kFusedChunk ? nin - k0 : kFusedChunk;
      for (int i = t.rank(); i < nout * kc; i += t.size()) {
        const int j = i / kc, kk = i % kc;
        Ws[kk * (nout + 1) + j] = W[size_t(j) * nin + k0 + kk];
      }
      t.sync();
      for (int it = t.rank(); it < groups * nout; it += t.size()) {
        const int r0 = (it / nout) * kFusedRowsPerItem, j = it % nout;
        const int nr = R - r0 < kFusedRowsPerItem ? R - r0 : kFusedRowsPerItem;
        float acc[kFusedRowsPerItem];
        for (int q = 0; q < kFusedRowsPerItem; ++q)
          acc[q] = q < nr ? (c == 0 ? bias[j] : out[(r0 + q) * nout + j]) : 0.f;
        for (int kk = 0; kk < kc; ++kk) {
          const float w = Ws[kk * (nout + 1) + j];
          for (int q = 0; q < kFusedRowsPerItem; ++q)
            if (q < nr) acc[q] += in[(r0 + q) * nin + k0 + kk] * w;
        }
        const bool done = c == chunks - 1;
        for (int q = 0; q < nr; ++q) {
          const size_t g = size_t(row0 + r0 + q) * nout + j;
          if (!done) {
            out[(r0 + q) * nout + j] = acc[q];
          } else if (last) {
            Y[g] = acc[q];
          } else {
            const float v = activate(acc[q], m.act);
            out[(r0 + q) * nout + j] = v;
            m.h[l + 1][g] = v;
          }
        }
      }
      t.sync();  // Ws is overwritten by the next chunk; out becomes the next layer's input
    }
    float* tmp = in;
    in = out;
    out = tmp;
  }
}

// Backward of tile `tile`: given dY (B, n_L), writes dZ[l] (B, n_{l+1}) = dL/d(pre-activation of
// layer l) for l < L - 1 (dZ[L - 1] is dY itself) and, when dX is not null, dX (B, n_0).
template <class Team>
EF_HD void fused_mlp_backward_tile(const Team& t, const FusedMlp& m, const float* dY,
                                   float* const* dZ, float* dX, int B, int tile,
                                   float* scratch) {
  const int row0 = tile * kFusedTileRows;
  const int R = B - row0 < kFusedTileRows ? B - row0 : kFusedTileRows;
  float* cur = scratch;
  float* nxt = scratch + kFusedTileRows * m.max_width;
  float* Ws = scratch + 2 * kFusedTileRows * m.max_width;
  const int nL = m.sizes[m.L];
  for (int i = t.rank(); i < R * nL; i += t.size()) cur[i] = dY[size_t(row0) * nL + i];
  t.sync();
  for (int l = m.L - 1; l >= 0; --l) {
    if (l == 0 && !dX) break;
    const int nin = m.sizes[l], nout = m.sizes[l + 1];
    const float* W = m.W[l];
    const int groups = (R + kFusedRowsPerItem - 1) / kFusedRowsPerItem;
    const int chunks = (nout + kFusedChunk - 1) / kFusedChunk;
    for (int c = 0; c < chunks; ++c) {
      const int j0 = c * kFusedChunk;
      const int jc = nout - j0 < kFusedChunk ? nout - j0 : kFusedChunk;
      for (int i = t.rank(); i < jc * nin; i += t.size()) Ws[i] = W[size_t(j0) * nin + i];
      t.sync();
      for (int it = t.rank(); it < groups * nin; it += t.size()) {
        const int r0 = (it / nin) * kFusedRowsPerItem, k = it % nin;
        const int nr = R - r0 < kFusedRowsPerItem ? R - r0 : kFusedRowsPerItem;
        float acc[kFusedRowsPerItem];
        for (int q = 0; q < kFusedRowsPerItem; ++q)
          acc[q] = q < nr && c > 0 ? nxt[(r0 + q) * nin + k] : 0.f;
        for (int jj = 0; jj < jc; ++jj) {
          const float w = Ws[jj * nin + k];
          for (int q = 0; q < kFusedRowsPerItem; ++q)
            if (q < nr) acc[q] += cur[(r0 + q) * nout + j0 + jj] * w;
        }
        const bool done = c == chunks - 1;
        for (int q = 0; q < nr; ++q) {
          const size_t g = size_t(row0 + r0 + q) * nin + k;
          if (!done) {
            nxt[(r0 + q) * nin + k] = acc[q];
          } else if (l == 0) {
            dX[g] = acc[q];
          } else {
            const float d = act_backward(acc[q], m.h[l][g], m.act);
            nxt[(r0 + q) * nin + k] = d;
            dZ[l - 1][g] = d;
          }
        }
      }
      t.sync();
    }
    float* tmp = cur;
    cur = nxt;
    nxt = tmp;
  }
}

// The sequential inverse of an autoregressive layer (MAF, nsf-ar), fused: all D passes of one
// tile in one team. Pass i runs the conditioner forward on the tile's packed rows
// in = [x | ctx] (row stride sizes[0]; the x part starts at zero), then step (a MafInverseStep
// or SplineInverseStep, kernels/ops/flow_ops.hpp) writes x_i of each row to step.x (B, D), copied
// into in for the next pass. A tile's rows are read and written by its team only, so one CUDA
// block runs the whole inverse of its rows with block barriers: one launch per layer instead
// of D x (pack, L GEMMs, step).
template <class Team, class Step>
EF_HD void fused_ar_inverse_tile(const Team& t, const FusedMlp& m, float* in, int B, int tile,
                                 float* Y, float* scratch, Step step) {
  const int row0 = tile * kFusedTileRows;
  const int R = B - row0 < kFusedTileRows ? B - row0 : kFusedTileRows;
  const int W = m.sizes[0], D = step.D;
  for (int i = 0; i < D; ++i) {
    fused_mlp_forward_tile(t, m, in, B, tile, Y, scratch);
    t.sync();  // the tile's Y rows, written by the whole team, before the step reads them
    step.i = i;
    for (int r = t.rank(); r < R; r += t.size()) {
      const size_t row = size_t(row0 + r);
      step(row);
      in[row * size_t(W) + size_t(i)] = step.x[row * size_t(D) + size_t(i)];
    }
    t.sync();  // x_i in `in` before the next pass copies the rows into scratch
  }
}

}  // namespace ef::ops
