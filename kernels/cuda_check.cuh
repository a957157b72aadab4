// Error checks for CUDA runtime calls and kernel launches: throw ef::Error with file:line and
// the failing expression, so a device error surfaces like any other error.
#pragma once
#include <cuda_runtime.h>

#include "../engine/error.hpp"

#define EF_CUDA_CHECK(expr)                                                               \
  do {                                                                                    \
    cudaError_t ef_err_ = (expr);                                                         \
    if (ef_err_ != cudaSuccess)                                                           \
      EF_THROW("CUDA error ", cudaGetErrorName(ef_err_), " (", cudaGetErrorString(ef_err_), \
               ") in ", #expr);                                                           \
  } while (0)

// After every launch: catches bad launch configurations at once.
#define EF_CUDA_LAUNCH_CHECK() EF_CUDA_CHECK(cudaGetLastError())
