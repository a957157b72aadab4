// Finding and loading the CUDA module (engine/cuda_module.hpp) without linking CUDA: a cheap
// driver probe first (dlopen libcuda.so.1, cuInit, cuDeviceGetCount), then, only when the driver
// reports a device, dlopen of libechoflow_cuda.so. Used by engine/device.cpp; declared here so
// the tests can load a module whether or not this machine has a GPU.
#pragma once
#include <string>
#include <vector>

#include "cuda_module.hpp"

namespace ef::detail {

// Devices the NVIDIA driver reports; 0 with the reason (no driver, cuInit's error, none found).
// Loads libcuda.so.1 only: no CUDA runtime, no cuBLAS.
int probe_cuda_driver(std::string* why);

// Where the module is looked for, in order: $EF_CUDA_MODULE alone when it is set; else the
// folder of the binary holding this code (an executable, or the Python extension) and
// <that folder>/../<libdir> (an installed bin/eftrain), then the program's library search path
// (LD_LIBRARY_PATH, its RUNPATH -- the installed CMake package adds one --, the system folders).
std::vector<std::string> cuda_module_candidates();
// The same search for any module of this build (`file`, overridden by $env_var): the MPI
// communicator's libechoflow_mpi.so (host/communicator_world.cpp) uses it too.
std::vector<std::string> module_candidates(const std::string& file, const char* env_var);
std::string find_module(const std::string& file, const char* env_var);
// The first candidate that exists, or "" when none does.
std::string find_cuda_module();

// dlopen(path) and its entry point, checked against this build's ABI and version. nullptr with
// the reason in *why when any step fails. The module stays loaded for the life of the process.
const CudaModuleApi* load_cuda_module(const std::string& path, std::string* why);

}  // namespace ef::detail
