// The boundary between the engine and the CUDA module (libechoflow_cuda.so: the CUDA kernels,
// DeviceBackend<CudaExec> and everything that calls cudart or cuBLAS). The engine never links
// CUDA: make_backend("cuda" | "auto") loads the module with dlopen (engine/cuda_loader.cpp) only
// after the driver reports a device, so the CPU path, --help and --version never map cudart or
// cuBLAS. No CUDA header is needed on either side of this file.
//
// The module exports one C symbol, kCudaModuleEntry, returning a CudaModuleApi table. Backends
// cross the boundary as the engine's own virtual interface (ef::Backend): the module is built
// from the same sources in the same build (the loader refuses another version or ABI), so both
// sides agree on the class layout; the module keeps its copy of the engine private (a version
// script exports the entry alone).
#pragma once
#include <cstddef>

namespace ef {

class Backend;
class DeviceGradSum;
struct TabularSpec;

// Bumped whenever CudaModuleApi, Backend, DeviceGradSum or TabularSpec changes shape.
constexpr int kCudaModuleAbi = 2;
constexpr const char* kCudaModuleEntry = "ef_cuda_module";
constexpr const char* kCudaModuleFile = "libechoflow_cuda.so";

extern "C" {
struct CudaModuleApi {
  int abi;              // kCudaModuleAbi of the build that made the module
  const char* version;  // the project version it was built from (EF_BUILD_VERSION)
  // Usable devices according to the CUDA runtime (cudaGetDeviceCount); 0 with the reason
  // written to why (at most cap bytes, NUL-terminated).
  int (*probe)(char* why, size_t cap);
  // A new CUDA backend for spec (owned by the caller, deleted through Backend's virtual
  // destructor); nullptr with the error message in err when construction failed.
  Backend* (*make_backend)(const TabularSpec* spec, char* err, size_t cap);
  // Makes device local_rank mod the device count current on the calling thread (one GPU per
  // rank of a node, docs/SCALE.md) and returns it; -1 with the error in err.
  int (*select_device)(int local_rank, char* err, size_t cap);
  // NCCL (engine/device_collective.hpp); both null when the module was built without it.
  // A new ncclUniqueId in out (bytes = its size): 0, or -1 with the error in err.
  int (*nccl_unique_id)(void* out, size_t bytes, char* err, size_t cap);
  // This rank's NCCL communicator as a gradient sum (owned by the caller); nullptr with the
  // error in err.
  DeviceGradSum* (*make_nccl_grad_sum)(const void* id, size_t bytes, int rank, int ranks,
                                       char* err, size_t cap);
};
// The device of a rank: local_rank (its rank among the ranks of its node) mod the devices this
// process sees, so R ranks of a node spread over its GPUs (and share them round-robin when R is
// larger; CUDA_VISIBLE_DEVICES of one GPU per rank makes it device 0).
inline int device_for_local_rank(int local_rank, int devices) {
  return devices > 0 && local_rank >= 0 ? local_rank % devices : 0;
}

// The module's entry point (engine/cuda_backend.cu).
typedef const CudaModuleApi* (*CudaModuleEntryFn)();
}

}  // namespace ef
