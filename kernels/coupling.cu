// Coupling elementwise kernels (see coupling.cuh). The math is the shared engine/flow_math.hpp.
#include "../engine/flow_math.hpp"
#include "coupling.cuh"
#include "cuda_check.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

// One thread per row, so the row's log-det is summed in the CPU's order.
__global__ void coupling_forward_kernel(const float* __restrict__ x, const float* __restrict__ h,
                                        const int* __restrict__ mask, int B, int D, float clamp,
                                        float* __restrict__ z, float* __restrict__ logdet) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const float* hr = h + size_t(r) * 2 * D;
  float ld = 0.f;
  for (int i = 0; i < D; ++i) {
    const float xi = x[size_t(r) * D + i];
    if (mask[i]) {
      z[size_t(r) * D + i] = xi;
    } else {
      const float s = math::soft_clamp(hr[D + i], clamp);
      z[size_t(r) * D + i] = math::coupling_forward(xi, s, hr[i]);
      ld += s;
    }
  }
  logdet[r] += ld;
}

// One thread per (row, dimension), grid-stride.
__global__ void coupling_inverse_kernel(const float* __restrict__ z, const float* __restrict__ h,
                                        const int* __restrict__ mask, int B, int D, float clamp,
                                        float* __restrict__ x) {
  const size_t n = size_t(B) * D;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / D;
    const int i = int(k % D);
    const float* hr = h + r * 2 * D;
    x[k] = mask[i] ? z[k]
                   : math::coupling_inverse(z[k], math::soft_clamp(hr[D + i], clamp), hr[i]);
  }
}

__global__ void coupling_backward_kernel(const float* __restrict__ x, int ldx,
                                         const float* __restrict__ h,
                                         const int* __restrict__ mask,
                                         const float* __restrict__ dz,
                                         const float* __restrict__ dlogdet, int B, int D,
                                         float clamp, float* __restrict__ dh,
                                         float* __restrict__ dx) {
  const size_t n = size_t(B) * D;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / D;
    const int i = int(k % D);
    const float* hr = h + r * 2 * D;
    float* g = dh + r * 2 * D;
    const float gz = dz[k];
    if (mask[i]) {
      g[i] = 0.f;
      g[D + i] = 0.f;
      dx[k] = gz;
    } else {
      const float s = math::soft_clamp(hr[D + i], clamp);
      const float e = exp(s);
      g[i] = gz;                                                                     // dL/dt
      g[D + i] = (gz * x[r * ldx + i] * e + dlogdet[r]) * math::soft_clamp_grad(hr[D + i], clamp);
      dx[k] = gz * e;
    }
  }
}

}  // namespace

void coupling_forward_cuda(const float* x, const float* h, const int* mask, int B, int D,
                           float clamp, float* z, float* logdet, cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0, "coupling_forward_cuda: bad shape B=", B, " D=", D);
  EF_CHECK(x && h && mask && z && logdet, "coupling_forward_cuda: null buffer");
  if (B == 0) return;
  coupling_forward_kernel<<<grid_for(size_t(B), kThreads), kThreads, 0, stream>>>(
      x, h, mask, B, D, clamp, z, logdet);
  EF_CUDA_LAUNCH_CHECK();
}

void coupling_inverse_cuda(const float* z, const float* h, const int* mask, int B, int D,
                           float clamp, float* x, cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0, "coupling_inverse_cuda: bad shape B=", B, " D=", D);
  EF_CHECK(z && h && mask && x, "coupling_inverse_cuda: null buffer");
  if (B == 0) return;
  coupling_inverse_kernel<<<grid_for(size_t(B) * D, kThreads), kThreads, 0, stream>>>(
      z, h, mask, B, D, clamp, x);
  EF_CUDA_LAUNCH_CHECK();
}

void coupling_backward_cuda(const float* x, int ldx, const float* h, const int* mask,
                            const float* dz, const float* dlogdet, int B, int D, float clamp,
                            float* dh, float* dx, cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0 && ldx >= D, "coupling_backward_cuda: bad shape B=", B, " D=", D,
           " ldx=", ldx);
  EF_CHECK(x && h && mask && dz && dlogdet && dh && dx, "coupling_backward_cuda: null buffer");
  if (B == 0) return;
  coupling_backward_kernel<<<grid_for(size_t(B) * D, kThreads), kThreads, 0, stream>>>(
      x, ldx, h, mask, dz, dlogdet, B, D, clamp, dh, dx);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
