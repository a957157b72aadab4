// The CUDA backend: DeviceBackend (engine/device_backend.hpp) on the CUDA executor
// (kernels/cuda_exec.cuh), and the entry point of the CUDA module (libechoflow_cuda.so,
// engine/cuda_module.hpp). Compiled by nvcc only when CUDA is on; the engine loads the module on
// demand (engine/cuda_loader.cpp) and calls make_backend through the table below.
#include <cstdio>
#include <exception>

#include "cuda_exec.cuh"
#include "cuda_module.hpp"
#include "device_backend.hpp"
#include "device_probe.cuh"
#if EF_HAVE_NCCL
#include "nccl_grad_sum.hpp"
#endif

namespace ef {

template class DeviceBackend<CudaExec>;

namespace {

void copy_message(const char* msg, char* out, size_t cap) {
  if (out && cap > 0) std::snprintf(out, cap, "%s", msg);
}

int module_probe(char* why, size_t cap) {
  std::string reason;
  const int n = kernels::probe_devices(&reason);
  if (n <= 0) copy_message(reason.c_str(), why, cap);
  return n;
}

// Exceptions stop here: the table is a C interface, so a failure travels back as a message.
Backend* module_make_backend(const TabularSpec* spec, char* err, size_t cap) {
  try {
    return new DeviceBackend<CudaExec>(*spec);
  } catch (const std::exception& e) {
    copy_message(e.what(), err, cap);
  } catch (...) {
    copy_message("unknown error while creating the CUDA backend", err, cap);
  }
  return nullptr;
}

int module_select_device(int local_rank, char* err, size_t cap) {
  int n = 0;
  cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc == cudaSuccess && n <= 0) rc = cudaErrorNoDevice;
  if (rc == cudaSuccess) {
    const int d = device_for_local_rank(local_rank, n);
    rc = cudaSetDevice(d);
    if (rc == cudaSuccess) return d;
  }
  copy_message(cudaGetErrorString(rc), err, cap);
  return -1;
}

#if EF_HAVE_NCCL
const CudaModuleApi kApi{kCudaModuleAbi,        EF_BUILD_VERSION,      module_probe,
                         module_make_backend,   module_select_device,  module_nccl_unique_id,
                         module_make_nccl_grad_sum};
#else
const CudaModuleApi kApi{kCudaModuleAbi,      EF_BUILD_VERSION,     module_probe,
                         module_make_backend, module_select_device, nullptr,
                         nullptr};
#endif

}  // namespace
}  // namespace ef

// The one symbol the module exports (engine/cuda_module.version keeps every other one local).
extern "C" __attribute__((visibility("default"))) const ef::CudaModuleApi* ef_cuda_module() {
  return &ef::kApi;
}
