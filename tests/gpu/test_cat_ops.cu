// The categorical-head ops on the CUDA executor against CategoricalMade:
// tests/unit/ops_cat_cases.hpp, the cases tests/unit/test_ops_host.cpp runs on the host.
#include "gpu_util.hpp"
#include "kernels/cuda_exec.cuh"
#include "tests/unit/ops_cat_cases.hpp"

TEST_CASE("cat ops (cuda): log p, gradients and draws match CategoricalMade") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_cat_ops(ex, efg::kDeviceTol);
}
