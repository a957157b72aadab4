// Per-row work of the categorical softmax heads (engine/categorical_made.cpp), shared by the
// CUDA kernels and the host executor (see data_ops.hpp). One index = one row: a row's groups are
// few and its log-mass is summed in group order, as on the CPU.
// Letters: B rows, Gp groups of this part (levels lev[g], one-hot offsets off[g]), Wp one-hot
// width = logits width, G all groups of the table (codes (B, G), this part's from column go).
#pragma once
#include <cstddef>
#include <cstdint>

#include "flow_math.hpp"

namespace ef::ops {

// logp[r] += sum_g log softmax(logits[r, group g])[code].
struct CatLogProb {
  const float* logits;
  int Wp;
  const int* off;
  const int* lev;
  int Gp;
  const int* codes;
  int G, go;
  float* logp;
  EF_HD void operator()(size_t r) const {
    const float* h = logits + r * Wp;
    float lp = 0.f;
    for (int g = 0; g < Gp; ++g) {
      const float* hg = h + off[g];
      float mx = hg[0];
      for (int k = 1; k < lev[g]; ++k) mx = hg[k] > mx ? hg[k] : mx;
      float s = 0.f;
      for (int k = 0; k < lev[g]; ++k) s += math::exp(hg[k] - mx);
      const int k = codes[r * G + go + g];
      lp += hg[k] - mx - math::log(s);
    }
    logp[r] += lp;
  }
};

// dlogits[r, off_g + k] = dlogp[r] (1[k = code] - softmax_k), code = codes[r, go + g]: the
// one-hot target read from the codes (no packed one-hot input of Wp columns per row).
struct CatBackward {
  const float* logits;
  int Wp;
  const int* off;
  const int* lev;
  int Gp;
  const int* codes;
  int G, go;
  const float* dlogp;
  float* dlogits;
  EF_HD void operator()(size_t r) const {
    const float* h = logits + r * Wp;
    float* d = dlogits + r * Wp;
    for (int g = 0; g < Gp; ++g) {
      const float* hg = h + off[g];
      const int code = codes[r * G + go + g];
      float mx = hg[0];
      for (int k = 1; k < lev[g]; ++k) mx = hg[k] > mx ? hg[k] : mx;
      float s = 0.f;
      for (int k = 0; k < lev[g]; ++k) s += math::exp(hg[k] - mx);
      for (int k = 0; k < lev[g]; ++k)
        d[off[g] + k] = dlogp[r] * ((k == code ? 1.f : 0.f) - math::exp(hg[k] - mx) / s);
    }
  }
};

// Draws group g (local index; global column go + g of codes) of every row from its softmax,
// with the uniform for counter (row_offset + r) * Gp + g of (seed, stream), in double, by the
// CPU's inverse-CDF walk.
struct CatSampleGroup {
  const float* logits;
  int Wp, off, lev;
  int* codes;
  int G, go, Gp, g;
  uint64_t seed, stream, row_offset;
  EF_HD void operator()(size_t r) const {
    int& code = codes[r * G + go + g];
    if (code >= 0) return;
    const float* hg = logits + r * Wp + off;
    float mx = hg[0];
    for (int k = 1; k < lev; ++k) mx = hg[k] > mx ? hg[k] : mx;
    double s = 0;
    for (int k = 0; k < lev; ++k) s += math::exp(double(hg[k] - mx));
    double u = math::rand_uniform(seed, stream, (row_offset + uint64_t(r)) * uint64_t(Gp) +
                                                    uint64_t(g)) * s;
    int k = 0;
    for (; k + 1 < lev; ++k) {
      u -= math::exp(double(hg[k] - mx));
      if (u < 0) break;
    }
    code = k;
  }
};

}  // namespace ef::ops
