// Per-row / per-element work of the flow layers (engine/*_layer.cpp, engine/flow.cpp), shared
// by the CUDA kernels and the host executor (see data_ops.hpp). Ops that add to a row's log-det
// take one row per index and sum in dimension order, as the CPU does; the others take one
// element per index.
// Letters: B rows, D dims, nt transformed dims of a coupling (tr: their indices, ascending),
// K spline bins, P = 3K - 1 spline parameters per dim. x, z, dx, dz are (B, D); h is the
// conditioner output: MAF (B, 2D) [mu | a]; coupling (B, 2nt) [t | s_raw]; splines (B, nt P).
#pragma once
#include <cstddef>

#include "flow_math.hpp"
#include "spline_math.hpp"

namespace ef::ops {

// ---- MAF: z = (x - mu) exp(-alpha), alpha = soft_clamp(a), log|det| = -sum alpha ----
struct MafForward {
  const float* x;
  const float* h;
  int D;
  float clamp;
  float* z;
  float* logdet;
  EF_HD void operator()(size_t r) const {
    const float* hr = h + r * 2 * D;
    float ld = 0.f;
    for (int i = 0; i < D; ++i) {
      const float alpha = math::soft_clamp(hr[D + i], clamp);
      z[r * D + i] = math::maf_forward(x[r * D + i], hr[i], alpha);
      ld -= alpha;
    }
    logdet[r] += ld;
  }
};

// dh = [dL/dmu | dL/da] and the direct path of dx (both overwritten). x has row stride ldx (the
// packed conditioner input, like the CPU's c.in).
struct MafBackward {
  const float* x;
  int ldx;
  const float* h;
  const float* dz;
  const float* dlogdet;
  int D;
  float clamp;
  float* dh;
  float* dx;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(D);
    const int i = int(k % size_t(D));
    const float* hr = h + r * 2 * D;
    const float alpha = math::soft_clamp(hr[D + i], clamp);
    const float e = math::exp(-alpha);
    const float zi = (x[r * ldx + i] - hr[i]) * e;
    const float gz = dz[k];
    dh[r * 2 * D + i] = -gz * e;
    dh[r * 2 * D + D + i] = (-gz * zi - dlogdet[r]) * math::soft_clamp_grad(hr[D + i], clamp);
    dx[k] = gz * e;
  }
};

// Pass i of the sequential inverse: x[r, i] = mu + z exp(alpha).
struct MafInverseStep {
  const float* z;
  const float* h;
  int D, i;
  float clamp;
  float* x;
  EF_HD void operator()(size_t r) const {
    const float* hr = h + r * 2 * D;
    x[r * D + i] = math::maf_inverse(z[r * D + i], hr[i], math::soft_clamp(hr[D + i], clamp));
  }
};

// ---- Affine coupling: z_i = x_i exp(s_i) + t_i on transformed dims, log|det| = sum s ----
// z must already hold a copy of x (pass-through dims).
struct CouplingForward {
  const float* x;
  const float* h;
  const int* tr;
  int nt, D;
  float clamp;
  float* z;
  float* logdet;
  EF_HD void operator()(size_t r) const {
    const float* hr = h + r * 2 * nt;
    float ld = 0.f;
    for (int k = 0; k < nt; ++k) {
      const size_t e = r * D + tr[k];
      const float s = math::soft_clamp(hr[nt + k], clamp);
      z[e] = math::coupling_forward(x[e], s, hr[k]);
      ld += s;
    }
    logdet[r] += ld;
  }
};

// Elements (B, nt): dh = [dL/dt | dL/ds_raw]; dx on transformed dims (dx must already hold dz,
// the pass-through dims' direct path).
struct CouplingBackward {
  const float* x;
  const float* h;
  const int* tr;
  int nt, D;
  float clamp;
  const float* dz;
  const float* dlogdet;
  float* dh;
  float* dx;
  EF_HD void operator()(size_t q) const {
    const size_t r = q / size_t(nt);
    const int k = int(q % size_t(nt));
    const size_t e = r * D + tr[k];
    const float* hr = h + r * 2 * nt;
    const float gz = dz[e];
    const float s = math::soft_clamp(hr[nt + k], clamp);
    const float ex = math::exp(s);
    dh[r * 2 * nt + k] = gz;
    dh[r * 2 * nt + nt + k] = (gz * x[e] * ex + dlogdet[r]) * math::soft_clamp_grad(hr[nt + k], clamp);
    dx[e] = gz * ex;
  }
};

// Elements (B, nt): x_i = (z_i - t_i) exp(-s_i); x must already hold a copy of z.
struct CouplingInverse {
  const float* z;
  const float* h;
  const int* tr;
  int nt, D;
  float clamp;
  float* x;
  EF_HD void operator()(size_t q) const {
    const size_t r = q / size_t(nt);
    const int k = int(q % size_t(nt));
    const size_t e = r * D + tr[k];
    const float* hr = h + r * 2 * nt;
    x[e] = math::coupling_inverse(z[e], math::soft_clamp(hr[nt + k], clamp), hr[k]);
  }
};

// ---- Rational-quadratic splines (kernels/spline_math.hpp) ----
// Transformed dim k of a row is dim tr[k] (tr null: dim k, the autoregressive layer). forward
// leaves each element's widths/heights softmax in h (rq_forward_cache), for SplineBackward.
// Coupling: z must already hold a copy of x.
struct SplineForward {
  const float* x;
  float* h;
  const int* tr;
  int nt, D, K;
  float bound;
  float* z;
  float* logdet;
  EF_HD void operator()(size_t r) const {
    const int P = math::spline_num_params(K);
    float* hr = h + r * size_t(nt) * P;
    float ld = 0.f;
    for (int k = 0; k < nt; ++k) {
      const size_t e = r * D + (tr ? tr[k] : k);
      float l;
      z[e] = math::rq_forward_cache(x[e], hr + size_t(k) * P, K, bound, &l);
      ld += l;
    }
    logdet[r] += ld;
  }
};

// Elements (B, nt): dh (overwritten) and dx on transformed dims (overwritten), after
// SplineForward cached the softmax in h.
struct SplineBackward {
  const float* x;
  const float* h;
  const int* tr;
  int nt, D, K;
  float bound;
  const float* dz;
  const float* dlogdet;
  float* dh;
  float* dx;
  EF_HD void operator()(size_t q) const {
    const int P = math::spline_num_params(K);
    const size_t r = q / size_t(nt);
    const int k = int(q % size_t(nt));
    const size_t e = r * D + (tr ? tr[k] : k);
    dx[e] = math::rq_backward_cached(x[e], h + q * P, K, bound, dz[e], dlogdet[r], dh + q * P);
  }
};

// Elements (B, nt) of a coupling inverse (x must already hold a copy of z).
struct SplineInverse {
  const float* z;
  const float* h;
  const int* tr;
  int nt, D, K;
  float bound;
  float* x;
  EF_HD void operator()(size_t q) const {
    const int P = math::spline_num_params(K);
    const size_t r = q / size_t(nt);
    const int k = int(q % size_t(nt));
    const size_t e = r * D + tr[k];
    x[e] = math::rq_inverse(z[e], h + q * P, K, bound);
  }
};

// Pass i of the autoregressive inverse: x[r, i] = spline^{-1}(z[r, i]).
struct SplineInverseStep {
  const float* z;
  const float* h;
  int D, i, K;
  float bound;
  float* x;
  EF_HD void operator()(size_t r) const {
    const int P = math::spline_num_params(K);
    x[r * D + i] = math::rq_inverse(z[r * D + i], h + (r * D + i) * P, K, bound);
  }
};

// ---- ActNorm: z = x exp(logs) + bias, log|det| = sum logs ----
struct ActNormForward {
  const float* x;
  const float* logs;
  const float* bias;
  int D;
  float* z;
  float* logdet;
  EF_HD void operator()(size_t r) const {
    float ld = 0.f;
    for (int i = 0; i < D; ++i) ld += logs[i];
    for (int i = 0; i < D; ++i) z[r * D + i] = x[r * D + i] * math::exp(logs[i]) + bias[i];
    logdet[r] += ld;
  }
};

// One dim i per index: glogs[i] += sum_r (dz x e + dlogdet), gbias[i] += sum_r dz, rows in
// order (the CPU's order; B rows per thread, fine for the small D of a table).
struct ActNormBackwardParams {
  const float* x;
  const float* dz;
  const float* dlogdet;
  const float* logs;
  int B, D;
  float* glogs;
  float* gbias;
  EF_HD void operator()(size_t i) const {
    const float e = math::exp(logs[i]);
    float gl = 0.f, gb = 0.f;
    for (int r = 0; r < B; ++r) {
      const float g = dz[size_t(r) * D + i];
      gl += g * x[size_t(r) * D + i] * e + dlogdet[r];
      gb += g;
    }
    glogs[i] += gl;
    gbias[i] += gb;
  }
};

struct ActNormBackwardX {
  const float* dz;
  const float* logs;
  int D;
  float* dx;
  EF_HD void operator()(size_t k) const { dx[k] = dz[k] * math::exp(logs[k % size_t(D)]); }
};

struct ActNormInverse {
  const float* z;
  const float* logs;
  const float* bias;
  int D;
  float* x;
  EF_HD void operator()(size_t k) const {
    const int i = int(k % size_t(D));
    x[k] = (z[k] - bias[i]) * math::exp(-logs[i]);
  }
};

// ---- Permutation: z[r, j] = x[r, perm[j]] ----
struct Permute {  // forward: out[r, j] = in[r, perm[j]]
  const float* in;
  const int* perm;
  int D;
  float* out;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(D);
    out[k] = in[r * D + perm[k % size_t(D)]];
  }
};
struct Unpermute {  // backward and inverse: out[r, perm[j]] = in[r, j]
  const float* in;
  const int* perm;
  int D;
  float* out;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(D);
    out[r * D + perm[k % size_t(D)]] = in[k];
  }
};

// ---- Base: log p = logdet + sum log N(z), added to logp; backward dz = -dlogp z ----
struct BaseLogProb {
  const float* z;
  const float* logdet;
  int D;
  float* logp;
  EF_HD void operator()(size_t r) const {
    float lp = logdet[r];
    for (int i = 0; i < D; ++i) lp += math::log_normal(z[r * D + i]);
    logp[r] += lp;
  }
};

struct BaseBackward {
  const float* z;
  const float* dlogp;
  int D;
  float* dz;
  EF_HD void operator()(size_t k) const { dz[k] = -dlogp[k / size_t(D)] * z[k]; }
};

}  // namespace ef::ops
