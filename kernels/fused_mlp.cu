// The fused conditioner MLP on the GPU: kernels/ops/fused_mlp.hpp's tile bodies run by one
// thread block per tile, the scratch (two activation tiles and a weight chunk, about 96 KiB at
// width 256) in dynamic shared memory. CudaExec's launchers are here, beside their kernels.
#include "cuda_exec.cuh"

namespace ef {
namespace kernels {

// The thread block as the tile bodies' team. The host branches are never taken (these run in
// kernels only) but keep the methods callable from the __host__ __device__ tile templates.
struct BlockTeam {
  EF_HD int rank() const {
#if defined(__CUDA_ARCH__)
    return int(threadIdx.x);
#else
    return 0;
#endif
  }
  EF_HD int size() const {
#if defined(__CUDA_ARCH__)
    return int(blockDim.x);
#else
    return 1;
#endif
  }
  EF_HD void sync() const {
#if defined(__CUDA_ARCH__)
    __syncthreads();
#endif
  }
};

// Device copy of the backward's dZ pointer table: passed by value, so a captured graph keeps it.
struct DzTable {
  float* p[ops::kFusedMaxLayers];
};

__global__ void __launch_bounds__(ops::kFusedThreads)
    fused_mlp_forward_kernel(ops::FusedMlp m, const float* X, int B, float* Y) {
  extern __shared__ float scratch[];
  ops::fused_mlp_forward_tile(BlockTeam{}, m, X, B, int(blockIdx.x), Y, scratch);
}

__global__ void __launch_bounds__(ops::kFusedThreads)
    fused_mlp_backward_kernel(ops::FusedMlp m, const float* dY, DzTable dz, float* dX, int B) {
  extern __shared__ float scratch[];
  ops::fused_mlp_backward_tile(BlockTeam{}, m, dY, dz.p, dX, B, int(blockIdx.x), scratch);
}

namespace {
// Opts the kernels in to more than 48 KiB of dynamic shared memory; the attribute is not a
// stream operation, so setting it before each launch is also legal during graph capture.
size_t shared_bytes(const ops::FusedMlp& m) {
  const size_t bytes = ops::fused_scratch_floats(m.max_width) * sizeof(float);
  EF_CHECK(m.L >= 1 && m.L <= ops::kFusedMaxLayers && m.max_width <= ops::kFusedMaxWidth,
           "fused MLP: ", m.L, " layers of width up to ", m.max_width, " are outside its limits");
  return bytes;
}
}  // namespace

}  // namespace kernels

void CudaExec::fused_mlp_forward(const ops::FusedMlp& m, const float* X, int B, float* Y) {
  if (B <= 0) return;
  const size_t smem = kernels::shared_bytes(m);
  EF_CUDA_CHECK(cudaFuncSetAttribute(kernels::fused_mlp_forward_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
  kernels::fused_mlp_forward_kernel<<<tiles, ops::kFusedThreads, smem, stream_>>>(m, X, B, Y);
  EF_CUDA_LAUNCH_CHECK();
}

void CudaExec::fused_mlp_backward(const ops::FusedMlp& m, const float* dY, float* const* dZ,
                                  float* dX, int B) {
  if (B <= 0) return;
  const size_t smem = kernels::shared_bytes(m);
  EF_CUDA_CHECK(cudaFuncSetAttribute(kernels::fused_mlp_backward_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  kernels::DzTable dz{};
  for (int l = 0; l + 1 < m.L; ++l) dz.p[l] = dZ[l];
  const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
  kernels::fused_mlp_backward_kernel<<<tiles, ops::kFusedThreads, smem, stream_>>>(m, dY, dz, dX,
                                                                                   B);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef
