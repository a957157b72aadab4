// RealNVP affine coupling step on the device, matching engine/coupling_layer.cpp (compact
// conditioner, engine/coupling_split.hpp). Letters: B rows, D dimensions, nt transformed dims.
// tr (nt) is a device array of the transformed dims, ascending; h (B, 2nt) is the conditioner
// output [t | s_raw] for those dims only; s = soft_clamp(s_raw, c). The per-element math is
// kernels/ops/flow_ops.hpp, the code the CUDA backend runs.
#pragma once
#include <cuda_runtime.h>

namespace ef::kernels {

// z = x on pass-through dims; z_i = x_i exp(s) + t on transformed ones; logdet[r] += sum s (one
// thread per row, summed in the CPU's order).
void coupling_forward_cuda(const float* x, const float* h, const int* tr, int nt, int B, int D,
                           float clamp, float* z, float* logdet, cudaStream_t stream);

// x = z on pass-through dims, (z - t) exp(-s) on transformed ones (h from the pass-through
// half of z, which x shares).
void coupling_inverse_cuda(const float* z, const float* h, const int* tr, int nt, int B, int D,
                           float clamp, float* x, cudaStream_t stream);

// From dz (B, D) and dlogdet (B): dh (B, 2nt) = [dL/dt | dL/ds_raw] and the direct path of
// dx (B, D) (both overwritten; pass-through dims get dz). x is the layer input (B, D).
void coupling_backward_cuda(const float* x, const float* h, const int* tr, int nt,
                            const float* dz, const float* dlogdet, int B, int D, float clamp,
                            float* dh, float* dx, cudaStream_t stream);

}  // namespace ef::kernels
