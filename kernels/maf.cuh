// MAF affine step on the device, matching engine/maf_layer.cpp element for element.
// Letters: B rows, D dimensions. h (B, 2D) is the MADE output [mu | a]; alpha = soft_clamp(a, c).
// ldx: row stride of x (>= D), so x can be read from / written into the packed conditioner input
// [x | ctx] (B, D + C) directly.
#pragma once
#include <cuda_runtime.h>

namespace ef::kernels {

// z (B, D) = (x - mu) exp(-alpha); logdet[r] += -sum_i alpha_i (summed in dimension order, one
// thread per row, exactly as the CPU loop does).
void maf_forward_cuda(const float* x, int ldx, const float* h, int B, int D, float clamp,
                      float* z, float* logdet, cudaStream_t stream);

// From dz (B, D) and dlogdet (B): dh (B, 2D) = [dL/dmu | dL/da] and the direct path of
// dx (B, D) = dz exp(-alpha) (both overwritten; the conditioner's input gradient is added later).
void maf_backward_cuda(const float* x, int ldx, const float* h, const float* dz,
                       const float* dlogdet, int B, int D, float clamp, float* dh, float* dx,
                       cudaStream_t stream);

// One pass of the sequential inverse: x[r, i] = mu + z exp(alpha) for the single dimension i
// (x has row stride ldx; other columns untouched).
void maf_inverse_step_cuda(const float* z, const float* h, int B, int D, int i, float clamp,
                           float* x, int ldx, cudaStream_t stream);

}  // namespace ef::kernels
