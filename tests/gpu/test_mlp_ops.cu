// The conditioner-MLP ops on the CUDA executor (per-layer ops around cuBLAS GEMMs, the fused tile
// kernels, the deterministic column sums and the batch mean) against MaskedMLP:
// tests/unit/ops_mlp_cases.hpp, the cases tests/unit/test_ops_host.cpp runs on the host.
#include "gpu_util.hpp"
#include "kernels/cuda_exec.cuh"
#include "tests/unit/ops_mlp_cases.hpp"

TEST_CASE("mlp ops (cuda): per layer and fused match MaskedMLP") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_mlp_ops(ex, efg::kDeviceTol);
}

TEST_CASE("mlp ops (cuda): column sums and means") {
  efg::require_gpu();
  ef::CudaExec ex;
  efo::check_reductions(ex, efg::kDeviceTol);
}
