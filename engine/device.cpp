// Device selection. The CUDA backend lives in a module loaded on demand (engine/cuda_module.hpp,
// engine/cuda_loader.cpp): cuda_info() locates the module and asks the driver for devices, and
// loads the module (cudart, cuBLAS) only when both exist, so a CPU run never maps them.
#include <cstdlib>
#include <memory>

#include "backend.hpp"
#include "cuda_loader.hpp"
#include "error.hpp"

namespace ef {

namespace {

struct CudaState {
  CudaInfo info;
  const CudaModuleApi* api = nullptr;  // set when the module is loaded and reports a device
};

std::string module_not_found() {
  const char* env = std::getenv("EF_CUDA_MODULE");
  if (!EF_CUDA_MODULE_BUILT && !(env && env[0])) return "built without CUDA (EF_CUDA=OFF or no nvcc)";
  std::string where;
  for (const std::string& c : detail::cuda_module_candidates()) {
    if (where.size() > 400) {
      where += ", ...";
      break;
    }
    where += (where.empty() ? "" : ", ") + c;
  }
  return std::string("the CUDA module ") + kCudaModuleFile + " was not found (looked for " +
         where + "; EF_CUDA_MODULE=PATH names it)";
}

const CudaState& cuda_state() {
  static const CudaState state = [] {
    CudaState s;
    CudaInfo& i = s.info;
    i.module = detail::find_cuda_module();
    i.compiled = !i.module.empty();
    if (!i.compiled) {
      i.reason = module_not_found();
      return s;
    }
    std::string why;
    if (detail::probe_cuda_driver(&why) <= 0) {
      i.reason = why;
      return s;
    }
    const CudaModuleApi* api = detail::load_cuda_module(i.module, &why);
    if (!api) {
      i.reason = why;
      return s;
    }
    char msg[512] = "";
    i.devices = api->probe(msg, sizeof(msg));
    if (i.devices > 0) {
      s.api = api;
    } else {
      i.devices = 0;
      i.reason = msg[0] ? msg : "the CUDA runtime found no device";
    }
    return s;
  }();
  return state;
}

std::unique_ptr<Backend> make_cuda_backend(const TabularSpec& spec) {
  const CudaModuleApi* api = cuda_state().api;
  char err[1024] = "";
  Backend* be = api->make_backend(&spec, err, sizeof(err));
  if (!be) EF_THROW("CUDA backend: ", err[0] ? err : "creation failed");
  return std::unique_ptr<Backend>(be);
}

}  // namespace

const CudaInfo& cuda_info() { return cuda_state().info; }

std::unique_ptr<Backend> make_backend(const std::string& device, const TabularSpec& spec) {
  if (device == "cpu") return make_cpu_backend(spec);
  // The CUDA backend's code on host loops: for tests of the device paths without a GPU (not a
  // config value; engine/device_backend.hpp).
  if (device == "host-device") return make_host_device_backend(spec);
  if (device == "auto") {
    if (cuda_info().devices > 0) return make_cuda_backend(spec);
    return make_cpu_backend(spec);
  }
  if (device == "cuda") {
    const CudaInfo& ci = cuda_info();
    if (!ci.compiled) EF_THROW("device \"cuda\" requested but ", ci.reason);
    if (ci.devices == 0) EF_THROW("device \"cuda\" requested but no usable GPU: ", ci.reason);
    return make_cuda_backend(spec);
  }
  EF_THROW("unknown device \"", device, "\" (expected \"auto\", \"cpu\" or \"cuda\")");
}

}  // namespace ef
