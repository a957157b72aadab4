// The flow-layer ops (kernels/ops/flow_ops.hpp) on the CUDA executor against the CPU layers:
// tests/unit/ops_flow_cases.hpp, the cases tests/unit/test_ops_host.cpp runs on the host.
#include "gpu_util.hpp"
#include "kernels/cuda_exec.cuh"
#include "tests/unit/ops_flow_cases.hpp"

TEST_CASE("flow ops (cuda): layers of every registered kind match the CPU layers") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_flow_kind_ops(ex, efg::kDeviceTol);
}

TEST_CASE("flow ops (cuda): actnorm, permutation and base distribution") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_actnorm_perm_base_ops(ex, efg::kDeviceTol);
}
