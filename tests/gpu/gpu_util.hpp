// Helpers of the GPU tests: the device gate and the tolerance scale of the op cases
// (tests/unit/ops_*_cases.hpp) on the CUDA executor.
#pragma once
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include "backend.hpp"
#include "kernels/cuda_check.cuh"
#include "tests/unit/ops_harness.hpp"

namespace efg {

constexpr int kSkipReturnCode = 77;  // ctest SKIP_RETURN_CODE

// The device's expf/logf/tanhf are not the host's polynomials and cuBLAS sums in another
// order: the op cases' host tolerances, ten times looser.
inline const efo::Tol kDeviceTol{10};

// First line of every test case. main() already exits 77 without a device; this keeps a test
// from passing silently if it is ever run another way.
inline void require_gpu() {
  const ef::CudaInfo& ci = ef::cuda_info();
  if (ci.devices <= 0) MESSAGE("SKIPPED: no usable CUDA device (", ci.reason, ")");
  REQUIRE_MESSAGE(ci.devices > 0, "no usable CUDA device: ", ci.reason);
}

}  // namespace efg
