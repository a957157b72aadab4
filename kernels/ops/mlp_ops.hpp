// Per-element work of the conditioner MLPs (engine/masked_mlp.cpp) around the GEMMs, shared by
// the CUDA kernels and the host executor (see data_ops.hpp). A dense layer is
//   out = bias rows (BiasRows), out += in W^T (GEMM, beta = 1), activation (Activate),
// exactly the CPU reference's order; backward masks the weight gradient (MaskMul) and takes the
// activation's derivative from its output (ActBackward).
#pragma once
#include <cstddef>

#include "flow_math.hpp"

namespace ef::ops {

enum class Act : int { Identity = 0, ReLU = 1, Tanh = 2 };

// out[r, j] = b[j] (elements (B, n)).
struct BiasRows {
  float* out;
  const float* b;
  int n;
  EF_HD void operator()(size_t k) const { out[k] = b[k % size_t(n)]; }
};

EF_HD float activate(float v, Act act) {
  return act == Act::ReLU ? (v > 0.f ? v : 0.f) : (act == Act::Tanh ? math::tanh(v) : v);
}
// d act'(h), h the activation's output (ReLU: h > 0, a select so that d = inf/NaN stays local;
// tanh: 1 - h^2).
EF_HD float act_backward(float d, float h, Act act) {
  if (act == Act::ReLU) return h > 0.f ? d : 0.f;
  if (act == Act::Tanh) return d * (1.f - h * h);
  return d;
}

// A block of nu columns [u0, u0 + nu) of a row-major (rows, ld) matrix: k = row * nu + j.
// BiasBlock sets it to the bias, ActivateBlock applies the activation in place (the
// autoregressive inverse computes one degree's units at a time: engine/made_incremental.hpp).
struct BiasBlock {
  float* out;
  const float* b;  // the layer's whole bias; b[u0 + j] goes to column u0 + j
  int ld, u0, nu;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(nu);
    const int j = int(k - r * size_t(nu));
    out[r * size_t(ld) + size_t(u0 + j)] = b[u0 + j];
  }
};

struct Activate {
  float* h;
  Act act;
  EF_HD void operator()(size_t k) const { h[k] = activate(h[k], act); }
};

struct ActivateBlock {
  float* h;
  int ld, u0, nu;
  Act act;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(nu);
    float& v = h[r * size_t(ld) + size_t(u0) + (k - r * size_t(nu))];
    v = activate(v, act);
  }
};

// d *= act'(h), h the activation's output.
struct ActBackward {
  float* d;
  const float* h;
  Act act;
  EF_HD void operator()(size_t k) const { d[k] = act_backward(d[k], h[k], act); }
};

// g *= m: masked weights keep exactly zero gradient.
struct MaskMul {
  float* g;
  const float* m;
  EF_HD void operator()(size_t k) const { g[k] *= m[k]; }
};

}  // namespace ef::ops
