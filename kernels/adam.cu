#include "flow_math.hpp"
#include "adam.cuh"
#include "cuda_check.cuh"

namespace ef::kernels {
namespace {

// Each thread updates 4 consecutive values held in registers (load all, compute, store).
__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g,
                            float* __restrict__ m, float* __restrict__ v, size_t n,
                            const AdamDeviceScalars* __restrict__ s, float beta1, float beta2,
                            float eps, float wd) {
  const float lr = s->lr, bc1 = s->bc1, bc2 = s->bc2;
  const size_t base = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const size_t i = base + k;
    if (i < n) math::adam_update(p[i], g[i], m[i], v[i], lr, beta1, beta2, eps, wd, bc1, bc2);
  }
}

}  // namespace

void adam_cuda(float* p, const float* g, float* m, float* v, size_t n,
               const AdamDeviceScalars* scalars, float beta1, float beta2, float eps,
               float weight_decay, cudaStream_t stream) {
  EF_CHECK(p && g && m && v && scalars, "adam_cuda: null buffer");
  if (n == 0) return;
  const int threads = 256;
  const size_t blocks = (n + size_t(threads) * 4 - 1) / (size_t(threads) * 4);
  adam_kernel<<<unsigned(blocks), threads, 0, stream>>>(p, g, m, v, n, scalars, beta1, beta2, eps,
                                                        weight_decay);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
