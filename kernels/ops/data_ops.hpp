// Per-element work of the data-movement ops (packing conditioner inputs, features, gathers,
// random fills, shuffling keys, Adam). Each op is a functor over a flat index i: the CUDA
// kernel computes i from the grid (kernels/cuda_exec.cuh), the host executor
// (engine/host_exec.hpp) loops over i. Both compile the same body, so the host tests of
// DeviceBackend<HostExec> test the code the GPU runs.
// Letters: B rows, W packed width, D dims, G categorical groups, Fw feature width.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "flow_math.hpp"

namespace ef::ops {

// out (B, W) row r = [x[r, idx[j]] (j < nx) | ctx[r, j] (j < nctx) | 0 ...]; idx null = identity.
// Packs [x | ctx] (MAF, nsf-ar), [x_pass | ctx] (couplings) and gathers column blocks.
struct PackInput {
  const float* x;
  int ldx;
  const int* idx;
  int nx;
  const float* ctx;
  int ldctx, nctx;
  float* out;
  int W;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(W);
    const int j = int(k % size_t(W));
    float v = 0.f;
    if (j < nx)
      v = x[r * ldx + (idx ? idx[j] : j)];
    else if (j - nx < nctx)
      v = ctx[r * ldctx + (j - nx)];
    out[k] = v;
  }
};

// dx[r, idx[j]] += din[r, j] for j < nx (elements (B, nx)); idx null = identity. idx entries are
// distinct, so no two elements touch the same dx.
struct UnpackGrad {
  const float* din;
  int W;
  const int* idx;
  int nx;
  float* dx;
  int D;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(nx);
    const int j = int(k % size_t(nx));
    dx[r * D + (idx ? idx[j] : j)] += din[r * W + j];
  }
};

// dst[r, off + j] = src[r, j] for j < n (elements (B, n)).
struct ScatterCols {
  const float* src;
  int lds;
  float* dst;
  int ldd, off, n;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(n);
    const int j = int(k % size_t(n));
    dst[r * ldd + off + j] = src[r * lds + j];
  }
};

// Features F (B, Fw), columns [j0, j0 + n): column j is the one-hot of group grp[j] at level
// val[j] (grp[j] >= 0), or the continuous dim val[j] of u (grp[j] < 0). A code of -1 (not drawn
// yet) gives an all-zero one-hot, as on the CPU.
struct WriteFeatures {
  const int* codes;
  int G;
  const float* u;
  int D;
  const int* grp;
  const int* val;
  float* F;
  int Fw, j0, n;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(n);
    const int j = j0 + int(k % size_t(n));
    const int g = grp[j];
    F[r * Fw + j] = g >= 0 ? (codes[r * G + g] == val[j] ? 1.f : 0.f) : u[r * D + val[j]];
  }
};

// The categorical MADE's input (B, Wp + C) = [onehot(codes of the part) | F[:, :C]]; column
// j < Wp is group grp[j] (global index) at level lvl[j].
struct CatPack {
  const int* codes;
  int G;
  const int* grp;
  const int* lvl;
  int Wp;
  const float* F;
  int Fw, C;
  float* out;
  EF_HD void operator()(size_t k) const {
    const int W = Wp + C;
    const size_t r = k / size_t(W);
    const int j = int(k % size_t(W));
    out[k] = j < Wp ? (codes[r * G + grp[j]] == lvl[j] ? 1.f : 0.f) : F[r * Fw + (j - Wp)];
  }
};

template <class T>
struct Fill {
  T* p;
  T v;
  EF_HD void operator()(size_t i) const { p[i] = v; }
};

// out[i] = float(rand_normal(seed, stream, offset + i)): the CPU's counter-based draws.
struct FillNormal {
  float* out;
  uint64_t seed, stream, offset;
  EF_HD void operator()(size_t i) const {
    out[i] = float(math::rand_normal(seed, stream, offset + i));
  }
};

// Shuffle keys: keys[i] = rand_u64(seed, stream, i), vals[i] = i. Sorting (key, val) pairs
// (stably) gives a permutation that host and device compute alike.
struct ShuffleKeys {
  uint64_t* keys;
  int* vals;
  uint64_t seed, stream;
  EF_HD void operator()(size_t i) const {
    keys[i] = math::rand_u64(seed, stream, i);
    vals[i] = int(i);
  }
};

// x[i] *= a: a data-parallel rank's share of the global batch's gradient (engine/device_grad_sum.hpp).
struct ScaleInPlace {
  float* x;
  float a;
  EF_HD void operator()(size_t i) const { x[i] *= a; }
};

// p[i] = i: the identity order of a streamed chunk (its rows arrive already shuffled).
struct Iota {
  int* p;
  EF_HD void operator()(size_t i) const { p[i] = int(i); }
};

// dst (B, width) row r = src row perm[*start + r]: one mini-batch of a resident dataset. The
// start is read from device memory so one captured graph serves every batch.
template <class T>
struct GatherBatch {
  const T* src;
  int width;
  const int* perm;
  const int* start;
  T* dst;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(width);
    const int j = int(k % size_t(width));
    dst[k] = src[size_t(perm[*start + int(r)]) * width + j];
  }
};

// Adam's per-step scalars in device memory, so the optimizer step can be replayed from a graph.
struct AdamState {
  double step;     // t, 1-based after the first advance
  float lr;        // set from the host when it changes
  float bc1, bc2;  // 1 - beta^t
};

// One thread: t += 1 and the bias corrections of the new t (computed in double, as the CPU does).
struct AdamAdvance {
  AdamState* s;
  double beta1, beta2;
  EF_HD void operator()(size_t) const {
    s->step += 1.0;
    s->bc1 = float(1.0 - ::pow(beta1, s->step));
    s->bc2 = float(1.0 - ::pow(beta2, s->step));
  }
};

struct AdamUpdate {
  float* p;
  const float* g;
  float* m;
  float* v;
  const AdamState* s;
  float beta1, beta2, eps, wd;
  EF_HD void operator()(size_t i) const {
    math::adam_update(p[i], g[i], m[i], v[i], s->lr, beta1, beta2, eps, wd, s->bc1, s->bc2);
  }
};

// Batch-start bookkeeping of the resident scheduler (one thread): the loss of this step goes to
// slot step % K of the ring, then the batch start advances by B.
struct RecordStep {
  const double* loss;  // this step's mean log p
  double* ring;
  int K;
  int* start;
  int* counter;
  int B;
  EF_HD void operator()(size_t) const {
    ring[*counter % K] = *loss;
    *counter += 1;
    *start += B;
  }
};

}  // namespace ef::ops
