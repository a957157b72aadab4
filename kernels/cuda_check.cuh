// Error checks for CUDA runtime / cuBLAS calls and kernel launches: throw ef::Error with
// file:line and the failing expression, so a device error surfaces like any other error.
// Also the one launch-size helper every launcher uses.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "error.hpp"

#define EF_CUDA_CHECK(expr)                                                               \
  do {                                                                                    \
    cudaError_t ef_err_ = (expr);                                                         \
    if (ef_err_ != cudaSuccess)                                                           \
      EF_THROW("CUDA error ", cudaGetErrorName(ef_err_), " (", cudaGetErrorString(ef_err_), \
               ") in ", #expr);                                                           \
  } while (0)

// After every launch: catches bad launch configurations at once.
#define EF_CUDA_LAUNCH_CHECK() EF_CUDA_CHECK(cudaGetLastError())

#define EF_CUBLAS_CHECK(expr)                                                         \
  do {                                                                                \
    cublasStatus_t ef_st_ = (expr);                                                   \
    if (ef_st_ != CUBLAS_STATUS_SUCCESS)                                              \
      EF_THROW("cuBLAS error ", cublasGetStatusName(ef_st_), " (",                    \
               cublasGetStatusString(ef_st_), ") in ", #expr);                        \
  } while (0)

namespace ef::kernels {
// Blocks for n elements at `threads` per block, capped so grid-stride loops cover the rest.
inline unsigned grid_for(size_t n, int threads, size_t cap = 65535u * 32u) {
  size_t b = (n + size_t(threads) - 1) / size_t(threads);
  if (b < 1) b = 1;
  return unsigned(b < cap ? b : cap);
}
}  // namespace ef::kernels
