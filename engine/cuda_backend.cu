// The CUDA backend: DeviceBackend (engine/device_backend.hpp) on the CUDA executor
// (kernels/cuda_exec.cuh). Compiled by nvcc only when CUDA is on; make_backend("cuda" | "auto")
// creates it once cuda_info() has found a usable device (engine/device.cpp).
#include "cuda_exec.cuh"
#include "device_backend.hpp"

namespace ef {

template class DeviceBackend<CudaExec>;

std::unique_ptr<Backend> make_cuda_backend(const TabularSpec& spec) {
  return std::make_unique<DeviceBackend<CudaExec>>(spec);
}

}  // namespace ef
