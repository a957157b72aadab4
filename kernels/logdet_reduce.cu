// Log-prob row reduction and batch sum (see logdet_reduce.cuh).
#include "flow_math.hpp"
#include "cuda_check.cuh"
#include "logdet_reduce.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;      // 8 warps = 8 rows per block
constexpr int kSumThreads = 1024;  // the single block of sum_scaled

// Warp per row: lanes stride the row (coalesced), then a butterfly shuffle sum.
__global__ void log_prob_rows_kernel(const float* __restrict__ z,
                                     const float* __restrict__ logdet, int B, int D,
                                     float* __restrict__ logp) {
  const int lane = threadIdx.x & 31;
  const int r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  if (r >= B) return;  // whole warp leaves together: r is uniform across the warp
  const float* zr = z + size_t(r) * D;
  float s = 0.f;
  for (int i = lane; i < D; i += 32) s += math::log_normal(zr[i]);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  if (lane == 0) logp[r] = logdet[r] + s;
}

__global__ void log_prob_backward_kernel(const float* __restrict__ z,
                                         const float* __restrict__ dlogp, int B, int D,
                                         float* __restrict__ dz) {
  const size_t n = size_t(B) * D;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += size_t(gridDim.x) * blockDim.x)
    dz[k] = -dlogp[k / D] * z[k];
}

// One block: strided partial sums in double, then a shared-memory tree in fixed order.
__global__ void sum_scaled_kernel(const float* __restrict__ v, int n, double scale,
                                  double* __restrict__ out) {
  __shared__ double acc[kSumThreads];
  double s = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += double(v[i]);
  acc[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) acc[threadIdx.x] += acc[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = scale * acc[0];
}

}  // namespace

void log_prob_rows_cuda(const float* z, const float* logdet, int B, int D, float* logp,
                        cudaStream_t stream) {
  EF_CHECK(B >= 0 && D >= 0, "log_prob_rows_cuda: bad shape B=", B, " D=", D);
  EF_CHECK((z || D == 0) && logdet && logp, "log_prob_rows_cuda: null buffer");
  if (B == 0) return;
  const int rows_per_block = kThreads / 32;
  log_prob_rows_kernel<<<unsigned((B + rows_per_block - 1) / rows_per_block), kThreads, 0,
                         stream>>>(z, logdet, B, D, logp);
  EF_CUDA_LAUNCH_CHECK();
}

void log_prob_backward_cuda(const float* z, const float* dlogp, int B, int D, float* dz,
                            cudaStream_t stream) {
  EF_CHECK(B >= 0 && D >= 0, "log_prob_backward_cuda: bad shape B=", B, " D=", D);
  EF_CHECK(z && dlogp && dz, "log_prob_backward_cuda: null buffer");
  if (B == 0 || D == 0) return;
  log_prob_backward_kernel<<<grid_for(size_t(B) * D, kThreads), kThreads, 0, stream>>>(
      z, dlogp, B, D, dz);
  EF_CUDA_LAUNCH_CHECK();
}

void sum_scaled_cuda(const float* v, int n, double scale, double* out, cudaStream_t stream) {
  EF_CHECK(n >= 0, "sum_scaled_cuda: bad size n=", n);
  EF_CHECK((v || n == 0) && out, "sum_scaled_cuda: null buffer");
  sum_scaled_kernel<<<1, kSumThreads, 0, stream>>>(v, n, scale, out);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
