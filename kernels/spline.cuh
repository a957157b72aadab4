// Rational-quadratic spline steps on the device (neural spline flows), matching
// engine/spline_coupling_layer.cpp and engine/spline_ar_layer.cpp element for element: every
// kernel calls the shared kernels/spline_math.hpp functions.
// Letters: B rows, D dimensions, K bins, P = 3K - 1 spline parameters per dimension, nt
// transformed dimensions. tr (nt) is a device array of the transformed dims, ascending (a
// coupling, engine/coupling_split.hpp), or null: every dimension is transformed (the
// autoregressive layer, nt = D). h (B, nt P) is the conditioner output for the transformed dims
// only: transformed dim k of row r uses h[(r nt + k) P ..] = [widths (K) | heights (K) |
// interior derivatives (K-1)], unnormalized. bound is the tail bound B (identity outside
// [-B, B]). ldx: row stride of x (>= D), so x can be read from the packed conditioner input
// [x | ctx] (B, D + C) directly.
#pragma once
#include <cuda_runtime.h>

namespace ef::kernels {

// z (B, D) = spline(x) on transformed dims, x elsewhere; logdet[r] += sum of log|dz_i/dx_i| (one
// thread per row, summed in dimension order like the CPU).
void spline_forward_cuda(const float* x, int ldx, const float* h, const int* tr, int nt, int B,
                         int D, int K, float bound, float* z, float* logdet, cudaStream_t stream);

// From dz (B, D) and dlogdet (B): dh (B, nt P) = dL/dh and dx (B, D): the direct path on
// transformed dims, dz elsewhere (both overwritten; the conditioner's share is added later).
void spline_backward_cuda(const float* x, int ldx, const float* h, const int* tr, int nt,
                          const float* dz, const float* dlogdet, int B, int D, int K, float bound,
                          float* dh, float* dx, cudaStream_t stream);

// Coupling inverse, one pass: x (B, D) = z on pass-through dims, spline^{-1}(z) on the nt
// transformed ones (h from the pass-through half of z).
void spline_inverse_cuda(const float* z, const float* h, const int* tr, int nt, int B, int D,
                         int K, float bound, float* x, cudaStream_t stream);

// One pass of the autoregressive inverse: x[r, i] = spline^{-1}(z[r, i]) for the single
// dimension i (x has row stride ldx; other columns untouched).
void spline_inverse_step_cuda(const float* z, const float* h, int B, int D, int i, int K,
                              float bound, float* x, int ldx, cudaStream_t stream);

}  // namespace ef::kernels
