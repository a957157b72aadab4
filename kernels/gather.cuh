// Data movement on the device: gathering rows by index (device-side shuffling of a dataset that
// fits in memory), packing the conditioner input [x | ctx] and splitting its gradient back
// (engine/conditioner_io.hpp), and a constant fill.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace ef::kernels {

// dst (n, width) row r = src (n_src, width) row idx[r]. An index outside [0, n_src) yields a row
// of NaN (so a bad shuffle shows up in the loss instead of reading out of bounds).
void gather_rows_cuda(const float* src, size_t n_src, int width, const int64_t* idx, size_t n,
                      float* dst, cudaStream_t stream);

// in (B, D + C) = [x (B, D) | ctx (B, C)]  (ctx may be null when C == 0).
void pack_input_cuda(const float* x, const float* ctx, int B, int D, int C, float* in,
                     cudaStream_t stream);

// dx (B, D) += din[:, :D]; dctx (B, C) += din[:, D:] (dctx may be null to skip).
void unpack_grad_cuda(const float* din, int B, int D, int C, float* dx, float* dctx,
                      cudaStream_t stream);

// p[i] = value, i < n.
void fill_cuda(float* p, size_t n, float value, cudaStream_t stream);

}  // namespace ef::kernels
