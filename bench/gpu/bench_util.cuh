// Helpers shared by the CUDA benchmarks (bench/gpu/*.cu): an owning float device array and a
// CUDA-event timer.
#pragma once
#include <cuda_runtime.h>

#include <functional>

#include "bench_util.hpp"
#include "kernels/cuda_check.cuh"

namespace efbench {

struct DeviceFloats {
  float* p = nullptr;
  explicit DeviceFloats(size_t n) { EF_CUDA_CHECK(cudaMalloc(&p, (n ? n : 1) * sizeof(float))); }
  ~DeviceFloats() { cudaFree(p); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
};

// Mean milliseconds per call of f over `iters` calls on stream s, after `warmup` calls.
inline double time_ms(cudaStream_t s, int iters, const std::function<void()>& f, int warmup) {
  for (int i = 0; i < warmup; ++i) f();
  cudaEvent_t a, b;
  EF_CUDA_CHECK(cudaEventCreate(&a));
  EF_CUDA_CHECK(cudaEventCreate(&b));
  EF_CUDA_CHECK(cudaEventRecord(a, s));
  for (int i = 0; i < iters; ++i) f();
  EF_CUDA_CHECK(cudaEventRecord(b, s));
  EF_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  EF_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  EF_CUDA_CHECK(cudaEventDestroy(a));
  EF_CUDA_CHECK(cudaEventDestroy(b));
  return double(ms) / iters;
}

}  // namespace efbench
