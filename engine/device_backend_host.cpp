// DeviceBackend on the host executor: compiled in every build, so the device backend's code
// above the executor is built and tested by the plain C++ toolchain (tests/unit).
// GCC's -Wmaybe-uninitialized misfires on spline_math.hpp's rq_inverse (its softmax array is
// filled for all K bins before any read) once the spline ops are inlined into the host loops.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "device_backend.hpp"
#include "host_exec.hpp"

namespace ef {

template class DeviceBackend<HostExec>;

std::unique_ptr<Backend> make_host_device_backend(const TabularSpec& spec) {
  EF_CHECK(!spec.has_tables(), "the device backend does not run count-table categorical models "
                                "(model.categorical_model \"table\"): use device \"cpu\"");
  return std::make_unique<DeviceBackend<HostExec>>(spec);
}

}  // namespace ef
