// Device selection. The CUDA backend lives in a module loaded on demand (engine/cuda_module.hpp,
// engine/cuda_loader.cpp): cuda_info() locates the module and asks the driver for devices, and
// loads the module (cudart, cuBLAS) only when both exist, so a CPU run never maps them.
#include <cstdlib>
#include <memory>

#include "backend.hpp"
#include "cuda_loader.hpp"
#include "device_collective.hpp"
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

std::unique_ptr<Backend> make_cuda_backend(const TabularSpec& spec, int local_rank) {
  EF_CHECK(!spec.has_tables(), "the CUDA backend does not run count-table categorical models "
                                "(model.categorical_model \"table\"): use device \"cpu\"");
  const CudaModuleApi* api = cuda_state().api;
  char err[1024] = "";
  if (local_rank >= 0 && api->select_device(local_rank, err, sizeof(err)) < 0)
    EF_THROW("CUDA device of local rank ", local_rank, ": ", err[0] ? err : "selection failed");
  Backend* be = api->make_backend(&spec, err, sizeof(err));
  if (!be) EF_THROW("CUDA backend: ", err[0] ? err : "creation failed");
  return std::unique_ptr<Backend>(be);
}

const CudaModuleApi& nccl_api() {
  std::string why;
  EF_CHECK(nccl_available(&why), "NCCL: ", why);
  return *cuda_state().api;
}

}  // namespace

const CudaInfo& cuda_info() { return cuda_state().info; }

bool nccl_available(std::string* why) {
  const CudaState& s = cuda_state();
  const char* no = !s.api ? nullptr
                   : !s.api->nccl_unique_id || !s.api->make_nccl_grad_sum
                       ? "the CUDA module was built without NCCL (it needs a CUDA build with MPI "
                         "and nccl.h; docs/SCALE.md)"
                       : "";
  if (no && !no[0]) return true;
  if (why) *why = no ? no : "no usable GPU: " + s.info.reason;
  return false;
}

NcclId nccl_unique_id() {
  const CudaModuleApi& api = nccl_api();
  NcclId id;
  char err[1024] = "";
  if (api.nccl_unique_id(id.bytes, sizeof id.bytes, err, sizeof(err)) != 0)
    EF_THROW("ncclGetUniqueId: ", err);
  return id;
}

std::unique_ptr<DeviceGradSum> make_nccl_grad_sum(const NcclId& id, int rank, int ranks) {
  const CudaModuleApi& api = nccl_api();
  char err[1024] = "";
  DeviceGradSum* g = api.make_nccl_grad_sum(id.bytes, sizeof id.bytes, rank, ranks, err, sizeof(err));
  if (!g) EF_THROW("NCCL communicator of rank ", rank, " of ", ranks, ": ", err);
  return std::unique_ptr<DeviceGradSum>(g);
}

std::unique_ptr<Backend> make_backend(const std::string& device, const TabularSpec& spec,
                                      int local_rank) {
  if (device == "cpu") return make_cpu_backend(spec);
  // A count-table categorical model (engine/categorical_table.hpp) runs on the CPU backend
  // only: "auto" takes the CPU for it, "cuda" and "host-device" refuse it.
  const bool cpu_only = spec.has_tables();
  // The CUDA backend's code on host loops: for tests of the device paths without a GPU (not a
  // config value; engine/device_backend.hpp).
  if (device == "host-device") return make_host_device_backend(spec);
  if (device == "auto") {
    if (cuda_info().devices > 0 && !cpu_only) return make_cuda_backend(spec, local_rank);
    return make_cpu_backend(spec);
  }
  if (device == "cuda") {
    const CudaInfo& ci = cuda_info();
    if (!ci.compiled) EF_THROW("device \"cuda\" requested but ", ci.reason);
    if (ci.devices == 0) EF_THROW("device \"cuda\" requested but no usable GPU: ", ci.reason);
    EF_CHECK(!cpu_only, "device \"cuda\" requested but the model's categorical model is a count table "
                        "(model.categorical_model \"table\"), which runs on the CPU only");
    return make_cuda_backend(spec, local_rank);
  }
  EF_THROW("unknown device \"", device, "\" (expected \"auto\", \"cpu\" or \"cuda\")");
}

}  // namespace ef
