// The CUDA executor's reductions (kernels/cuda_exec.cu), the two ops a flat for_each over
// elements cannot express: column sums of a matrix (bias gradients) and the mean of a vector
// (the batch's mean log p). Both are deterministic: fixed chunks added in a fixed order, so a
// replayed graph and an eager step give the same bits. The host executor's twins are
// engine/host_exec.hpp's colsum_add and mean.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace ef::kernels {

// Floats of scratch colsum_add_cuda needs for `rows` rows and `cols` columns.
size_t colsum_workspace(int rows, int cols);

// out (cols) += column sums of A (rows, cols), row-major. workspace: colsum_workspace floats.
void colsum_add_cuda(const float* A, int rows, int cols, float* out, float* workspace,
                     cudaStream_t stream);

// out[0] = scale * sum_r v[r], accumulated in double by one block in a fixed order
// (scale = 1/n gives the mean). out is a device pointer.
void sum_scaled_cuda(const float* v, int n, double scale, double* out, cudaStream_t stream);

}  // namespace ef::kernels
