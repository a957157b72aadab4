// The data-movement, random-fill, shuffle and Adam ops on the CUDA executor against their CPU
// references: tests/unit/ops_data_cases.hpp, the cases tests/unit/test_ops_host.cpp runs on the
// host.
#include "gpu_util.hpp"
#include "kernels/cuda_exec.cuh"
#include "tests/unit/ops_data_cases.hpp"

TEST_CASE("data ops (cuda): packing and features") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_pack_ops(ex);
  efo::check_feature_ops(ex);
}

TEST_CASE("data ops (cuda): counter-based draws, the shuffle sort and gathers") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_random_and_shuffle_ops(ex, efg::kDeviceTol);
}

TEST_CASE("data ops (cuda): Adam matches adam_step_cpu") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_adam_ops(ex, efg::kDeviceTol);
}
