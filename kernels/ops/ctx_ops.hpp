// The conditioning columns of a first conditioner layer, read from the rows' codes and values
// where they are, instead of from a packed (rows x one-hot width) input buffer. A categorical
// column with L labels is L one-hot input columns; their product with the weights is one
// weight column per row (a gather), and their weight gradient one scatter per row. So the
// device backend holds no buffer of rows x one-hot width for them: its memory grows with the
// labels times the hidden width (the weights), not times the batch rows and the layers.
// Shared by the CUDA kernels and the host executor (see data_ops.hpp).
#pragma once
#include <cstddef>

#include "flow_math.hpp"

namespace ef::ops {

// Item i of a first layer's conditioning input: one-hot group grp[i] (global index into codes)
// whose level k is input column col[i] + k, or (grp[i] < 0) continuous dim dim[i] of u in input
// column col[i]. A code of -1 (not drawn yet while sampling) is an all-zero one-hot, as
// WriteFeatures writes it.
struct CtxInput {
  const int* grp;
  const int* col;
  const int* dim;
  int n;
  const int* codes;
  int G;
  const float* u;
  int D;
  // Row r's input column and value of item i; false when the item contributes nothing.
  EF_HD bool at(size_t r, int i, int& c, float& v) const {
    if (grp[i] >= 0) {
      const int code = codes[r * size_t(G) + size_t(grp[i])];
      c = col[i] + code;
      v = 1.f;
      return code >= 0;
    }
    c = col[i];
    v = u[r * size_t(D) + size_t(dim[i])];
    return true;
  }
};

// out[r, u0 + j] += sum_i v_i(r) W[u0 + j, c_i(r)] (elements (B, nu)): the conditioning
// columns' share of a first layer's pre-activation, for its units [u0, u0 + nu). W is the
// layer's row-major weight (ldw = its input width).
struct CtxForward {
  CtxInput in;
  const float* W;
  int ldw;
  float* out;
  int ldo, u0, nu;
  EF_HD void operator()(size_t k) const {
    const size_t r = k / size_t(nu);
    const int o = u0 + int(k % size_t(nu));
    const float* w = W + size_t(o) * size_t(ldw);
    float acc = 0.f;
    for (int i = 0; i < in.n; ++i) {
      int c;
      float v;
      if (in.at(r, i, c, v)) acc += v * w[c];
    }
    out[r * size_t(ldo) + size_t(o)] += acc;
  }
};

// gW[o, c_i(r)] += sum_r dY[r, o] v_i(r) (elements (nout, n)): the conditioning columns' weight
// gradient. Element (o, i) owns the columns of item i in weight row o and walks the rows in
// order, so no two elements write one weight: no atomics, and the same sums every run. The
// price: nout x n threads, each B dependent read-modify-writes; rows sorted by code (a segment
// sum per label) would spread that over the labels, if a GPU profile shows it matters.
struct CtxWeightGrad {
  CtxInput in;
  const float* dY;
  int nout, B;
  float* gW;
  int ldw;
  EF_HD void operator()(size_t k) const {
    const int o = int(k / size_t(in.n));
    const int i = int(k % size_t(in.n));
    float* g = gW + size_t(o) * size_t(ldw);
    for (int r = 0; r < B; ++r) {
      int c;
      float v;
      if (in.at(size_t(r), i, c, v)) g[c] += dY[size_t(r) * size_t(nout) + size_t(o)] * v;
    }
  }
};

}  // namespace ef::ops
