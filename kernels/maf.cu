// MAF elementwise kernels (see maf.cuh). The math is the shared kernels/flow_math.hpp.
#include "flow_math.hpp"
#include "cuda_check.cuh"
#include "maf.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

// One thread per row: D is a table's column count (small), and the row's log-det is then summed
// in the same order as on the CPU.
__global__ void maf_forward_kernel(const float* __restrict__ x, int ldx,
                                   const float* __restrict__ h, int B, int D, float clamp,
                                   float* __restrict__ z, float* __restrict__ logdet) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const float* hr = h + size_t(r) * 2 * D;
  float ld = 0.f;
  for (int i = 0; i < D; ++i) {
    const float alpha = math::soft_clamp(hr[D + i], clamp);
    z[size_t(r) * D + i] = math::maf_forward(x[size_t(r) * ldx + i], hr[i], alpha);
    ld -= alpha;
  }
  logdet[r] += ld;
}

// One thread per (row, dimension).
__global__ void maf_backward_kernel(const float* __restrict__ x, int ldx,
                                   const float* __restrict__ h, const float* __restrict__ dz,
                                   const float* __restrict__ dlogdet, int B, int D, float clamp,
                                   float* __restrict__ dh, float* __restrict__ dx) {
  const size_t n = size_t(B) * D;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / D;
    const int i = int(k % D);
    const float* hr = h + r * 2 * D;
    const float alpha = math::soft_clamp(hr[D + i], clamp);
    const float e = exp(-alpha);
    const float zi = math::maf_forward(x[r * ldx + i], hr[i], alpha);
    const float gz = dz[k];
    dh[r * 2 * D + i] = -gz * e;                                                    // dL/dmu
    dh[r * 2 * D + D + i] = (-gz * zi - dlogdet[r]) * math::soft_clamp_grad(hr[D + i], clamp);
    dx[k] = gz * e;                                                                 // direct
  }
}

__global__ void maf_inverse_step_kernel(const float* __restrict__ z, const float* __restrict__ h,
                                        int B, int D, int i, float clamp, float* __restrict__ x,
                                        int ldx) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const float* hr = h + size_t(r) * 2 * D;
  x[size_t(r) * ldx + i] =
      math::maf_inverse(z[size_t(r) * D + i], hr[i], math::soft_clamp(hr[D + i], clamp));
}

}  // namespace

void maf_forward_cuda(const float* x, int ldx, const float* h, int B, int D, float clamp,
                      float* z, float* logdet, cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0 && ldx >= D, "maf_forward_cuda: bad shape B=", B, " D=", D,
           " ldx=", ldx);
  EF_CHECK(x && h && z && logdet, "maf_forward_cuda: null buffer");
  if (B == 0) return;
  maf_forward_kernel<<<grid_for(size_t(B), kThreads), kThreads, 0, stream>>>(x, ldx, h, B, D,
                                                                             clamp, z, logdet);
  EF_CUDA_LAUNCH_CHECK();
}

void maf_backward_cuda(const float* x, int ldx, const float* h, const float* dz,
                       const float* dlogdet, int B, int D, float clamp, float* dh, float* dx,
                       cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0 && ldx >= D, "maf_backward_cuda: bad shape B=", B, " D=", D,
           " ldx=", ldx);
  EF_CHECK(x && h && dz && dlogdet && dh && dx, "maf_backward_cuda: null buffer");
  if (B == 0) return;
  maf_backward_kernel<<<grid_for(size_t(B) * D, kThreads), kThreads, 0, stream>>>(
      x, ldx, h, dz, dlogdet, B, D, clamp, dh, dx);
  EF_CUDA_LAUNCH_CHECK();
}

void maf_inverse_step_cuda(const float* z, const float* h, int B, int D, int i, float clamp,
                           float* x, int ldx, cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0 && i >= 0 && i < D && ldx >= D, "maf_inverse_step_cuda: bad shape B=",
           B, " D=", D, " i=", i, " ldx=", ldx);
  EF_CHECK(z && h && x, "maf_inverse_step_cuda: null buffer");
  if (B == 0) return;
  maf_inverse_step_kernel<<<grid_for(size_t(B), kThreads), kThreads, 0, stream>>>(z, h, B, D, i,
                                                                                  clamp, x, ldx);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
