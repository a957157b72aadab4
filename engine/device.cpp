// Device selection. CUDA is probed once, lazily, with cudaGetDeviceCount (through kernels/);
// without a driver that call fails with cudaErrorInsufficientDriver and we fall back to the CPU.
#include "backend.hpp"
#include "error.hpp"

#if defined(EF_HAVE_CUDA)
#include "device_probe.cuh"
#endif

namespace ef {

#if defined(EF_HAVE_CUDA)
std::unique_ptr<Backend> make_cuda_backend(const TabularSpec& spec);  // engine/cuda_backend.cu
#endif

const CudaInfo& cuda_info() {
  static const CudaInfo info = [] {
    CudaInfo i;
#if defined(EF_HAVE_CUDA)
    i.compiled = true;
    std::string why;
    i.devices = kernels::probe_devices(&why);
    i.reason = why;
#else
    i.reason = "built without CUDA (EF_CUDA=OFF or no nvcc)";
#endif
    return i;
  }();
  return info;
}

std::unique_ptr<Backend> make_backend(const std::string& device, const TabularSpec& spec) {
  if (device == "cpu") return make_cpu_backend(spec);
  // The CUDA backend's code on host loops: for tests of the device paths without a GPU (not a
  // config value; engine/device_backend.hpp).
  if (device == "host-device") return make_host_device_backend(spec);
  if (device == "auto") {
#if defined(EF_HAVE_CUDA)
    if (cuda_info().devices > 0) return make_cuda_backend(spec);
#endif
    return make_cpu_backend(spec);
  }
  if (device == "cuda") {
    const CudaInfo& ci = cuda_info();
    if (!ci.compiled) EF_THROW("device \"cuda\" requested but ", ci.reason);
    if (ci.devices == 0) EF_THROW("device \"cuda\" requested but no usable GPU: ", ci.reason);
#if defined(EF_HAVE_CUDA)
    return make_cuda_backend(spec);
#endif
  }
  EF_THROW("unknown device \"", device, "\" (expected \"auto\", \"cpu\" or \"cuda\")");
}

}  // namespace ef
