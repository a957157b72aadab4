// The CUDA module's NCCL entries (engine/nccl_grad_sum.cu, compiled with EF_HAVE_NCCL), put in
// its table by engine/cuda_backend.cu. The signatures are CudaModuleApi's.
#pragma once
#include <cstddef>

namespace ef {

class DeviceGradSum;

int module_nccl_unique_id(void* out, size_t bytes, char* err, size_t cap);
DeviceGradSum* module_make_nccl_grad_sum(const void* id, size_t bytes, int rank, int ranks,
                                         char* err, size_t cap);

}  // namespace ef
