// RealNVP affine coupling step on the device, matching engine/coupling_layer.cpp.
// Letters: B rows, D dimensions. h (B, 2D) is the conditioner output [t | s_raw];
// s = soft_clamp(s_raw, c). mask (D) is a device array of ints, 1 = pass-through dimension.
#pragma once
#include <cuda_runtime.h>

namespace ef::kernels {

// z = m*x + (1-m)*(x exp(s) + t); logdet[r] += sum_i (1-m_i) s_i (one thread per row, summed in
// dimension order like the CPU).
void coupling_forward_cuda(const float* x, const float* h, const int* mask, int B, int D,
                           float clamp, float* z, float* logdet, cudaStream_t stream);

// x = m*z + (1-m)*(z - t) exp(-s). One pass: h comes from the pass-through half of z.
void coupling_inverse_cuda(const float* z, const float* h, const int* mask, int B, int D,
                           float clamp, float* x, cudaStream_t stream);

// From dz (B, D) and dlogdet (B): dh (B, 2D) = [dL/dt | dL/ds_raw] (zero on pass-through dims)
// and the direct path of dx (B, D) (both overwritten). x has row stride ldx >= D (it may be
// the packed conditioner input [x | ctx]).
void coupling_backward_cuda(const float* x, int ldx, const float* h, const int* mask,
                            const float* dz, const float* dlogdet, int B, int D, float clamp,
                            float* dh, float* dx, cudaStream_t stream);

}  // namespace ef::kernels
