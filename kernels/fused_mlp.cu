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

template <class Step>
__global__ void __launch_bounds__(ops::kFusedThreads)
    fused_ar_inverse_kernel(ops::FusedMlp m, float* in, int B, float* Y, Step step) {
  extern __shared__ float scratch[];
  ops::fused_ar_inverse_tile(BlockTeam{}, m, in, B, int(blockIdx.x), Y, scratch, step);
}

namespace {
size_t shared_bytes(const ops::FusedMlp& m) {
  EF_CHECK(m.L >= 1 && m.L <= ops::kFusedMaxLayers && m.max_width <= ops::kFusedMaxWidth,
           "fused MLP: ", m.L, " layers of width up to ", m.max_width, " are outside its limits");
  return ops::fused_scratch_floats(m.max_width) * sizeof(float);
}
}  // namespace

// Opts both kernels in to the shared memory of the widest fused MLP (over the default 48 KiB).
// Once, from CudaExec's constructor: not during a graph capture, where it might not be legal.
void fused_mlp_init() {
  const int bytes = int(ops::fused_scratch_floats(ops::kFusedMaxWidth) * sizeof(float));
  EF_CUDA_CHECK(cudaFuncSetAttribute(fused_mlp_forward_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  EF_CUDA_CHECK(cudaFuncSetAttribute(fused_mlp_backward_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  EF_CUDA_CHECK(cudaFuncSetAttribute(fused_ar_inverse_kernel<ops::MafInverseStep>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  EF_CUDA_CHECK(cudaFuncSetAttribute(fused_ar_inverse_kernel<ops::SplineInverseStep>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
}

template <class Step>
void fused_ar_inverse_launch(const ops::FusedMlp& m, float* in, int B, float* Y,
                             const Step& step, cudaStream_t stream) {
  if (B <= 0) return;
  const size_t smem = shared_bytes(m);
  const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
  fused_ar_inverse_kernel<Step><<<tiles, ops::kFusedThreads, smem, stream>>>(m, in, B, Y, step);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace kernels

void CudaExec::fused_mlp_forward(const ops::FusedMlp& m, const float* X, int B, float* Y) {
  if (B <= 0) return;
  const size_t smem = kernels::shared_bytes(m);
  const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
  kernels::fused_mlp_forward_kernel<<<tiles, ops::kFusedThreads, smem, stream_>>>(m, X, B, Y);
  EF_CUDA_LAUNCH_CHECK();
}

void CudaExec::fused_ar_inverse(const ops::FusedMlp& m, float* in, int B, float* Y,
                                const ops::MafInverseStep& step) {
  kernels::fused_ar_inverse_launch(m, in, B, Y, step, stream_);
}

void CudaExec::fused_ar_inverse(const ops::FusedMlp& m, float* in, int B, float* Y,
                                const ops::SplineInverseStep& step) {
  kernels::fused_ar_inverse_launch(m, in, B, Y, step, stream_);
}

void CudaExec::fused_mlp_backward(const ops::FusedMlp& m, const float* dY, float* const* dZ,
                                  float* dX, int B) {
  if (B <= 0) return;
  const size_t smem = kernels::shared_bytes(m);
  kernels::DzTable dz{};
  for (int l = 0; l + 1 < m.L; ++l) dz.p[l] = dZ[l];
  const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
  kernels::fused_mlp_backward_kernel<<<tiles, ops::kFusedThreads, smem, stream_>>>(m, dY, dz, dX,
                                                                                   B);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef
