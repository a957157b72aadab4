// Packing the conditioner input [x | ctx] and splitting its gradient back, shared by the MAF and
// coupling layers. The layers now pass ctx to the conditioner as its own block
// (MaskedMLP::forward_ctx) and pack x alone; pack_input / unpack_grad stay the reference of the
// device ops (tests/unit/ops_data_cases.hpp).
#pragma once
#include <cstring>
#include <vector>
#include "parallel.hpp"

namespace ef {

// in (B, D + C) = [x (B, D) | ctx (B, C)]
template <class T>
void pack_input(const T* x, const T* ctx, int B, int D, int C, std::vector<T>& in) {
  const int W = D + C;
  in.resize(size_t(B) * W);
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
  for (int r = 0; r < B; ++r) {
    std::memcpy(&in[size_t(r) * W], x + size_t(r) * D, sizeof(T) * D);
    if (C) std::memcpy(&in[size_t(r) * W + D], ctx + size_t(r) * C, sizeof(T) * C);
  }
}

// dx += din[:, :D]; dctx += din[:, D:] (dctx may be null).
template <class T>
void unpack_grad(const std::vector<T>& din, int B, int D, int C, T* dx, T* dctx) {
  const int W = D + C;
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
  for (int r = 0; r < B; ++r) {
    for (int i = 0; i < D; ++i) dx[size_t(r) * D + i] += din[size_t(r) * W + i];
    if (dctx)
      for (int j = 0; j < C; ++j) dctx[size_t(r) * C + j] += din[size_t(r) * W + D + j];
  }
}

// dx (B, D) += din (B, D).
template <class T>
void add_grad(const std::vector<T>& din, int B, int D, T* dx) {
  const size_t n = size_t(B) * D;
#pragma omp parallel for schedule(static) if (n >= size_t(ef::kOmpMinElems))
  for (size_t i = 0; i < n; ++i) dx[i] += din[i];
}

}  // namespace ef
