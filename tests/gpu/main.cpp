// ef_gpu_tests: the ops the CUDA backend runs (on its executor) and the whole backend against
// the CPU reference.
// Without a usable device the whole executable reports SKIPPED with the reason and exits 77,
// which ctest (SKIP_RETURN_CODE 77) shows as "Skipped" -- never as a silent pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "gpu_util.hpp"

int main(int argc, char** argv) {
  const ef::CudaInfo& ci = ef::cuda_info();
  if (ci.devices <= 0) {
    std::printf("SKIPPED: no usable CUDA device (%s)\n", ci.reason.c_str());
    std::fflush(stdout);
    return efg::kSkipReturnCode;
  }
  cudaDeviceProp prop{};
  EF_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("ef_gpu_tests on %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
