// Rational-quadratic spline kernels (see spline.cuh). The math is the shared
// engine/spline_math.hpp: the bin search runs on running sums in registers (no per-thread
// arrays), reading the K widths/heights straight from h.
#include "../engine/spline_math.hpp"
#include "cuda_check.cuh"
#include "spline.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

// One thread per row, so the row's log-det is summed in the CPU's order.
__global__ void spline_forward_kernel(const float* __restrict__ x, int ldx,
                                      const float* __restrict__ h, const int* __restrict__ mask,
                                      int B, int D, int K, float bound, float* __restrict__ z,
                                      float* __restrict__ logdet) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const int P = math::spline_num_params(K);
  const float* hr = h + size_t(r) * D * P;
  float ld = 0.f;
  for (int i = 0; i < D; ++i) {
    const float xi = x[size_t(r) * ldx + i];
    if (mask && mask[i]) {
      z[size_t(r) * D + i] = xi;
    } else {
      float l;
      z[size_t(r) * D + i] = math::rq_forward(xi, hr + size_t(i) * P, K, bound, &l);
      ld += l;
    }
  }
  logdet[r] += ld;
}

// One thread per (row, dimension), grid-stride.
__global__ void spline_backward_kernel(const float* __restrict__ x, int ldx,
                                       const float* __restrict__ h, const int* __restrict__ mask,
                                       const float* __restrict__ dz,
                                       const float* __restrict__ dlogdet, int B, int D, int K,
                                       float bound, float* __restrict__ dh,
                                       float* __restrict__ dx) {
  const int P = math::spline_num_params(K);
  const size_t n = size_t(B) * D;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / D;
    const int i = int(k % D);
    float* g = dh + k * P;  // (r * D + i) * P
    if (mask && mask[i]) {
      for (int j = 0; j < P; ++j) g[j] = 0.f;
      dx[k] = dz[k];
    } else {
      dx[k] = math::rq_backward(x[r * ldx + i], h + k * P, K, bound, dz[k], dlogdet[r], g);
    }
  }
}

__global__ void spline_inverse_kernel(const float* __restrict__ z, const float* __restrict__ h,
                                      const int* __restrict__ mask, int B, int D, int K,
                                      float bound, float* __restrict__ x) {
  const int P = math::spline_num_params(K);
  const size_t n = size_t(B) * D;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += size_t(gridDim.x) * blockDim.x) {
    const int i = int(k % D);
    x[k] = (mask && mask[i]) ? z[k] : math::rq_inverse(z[k], h + k * P, K, bound);
  }
}

__global__ void spline_inverse_step_kernel(const float* __restrict__ z,
                                           const float* __restrict__ h, int B, int D, int i,
                                           int K, float bound, float* __restrict__ x, int ldx) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const int P = math::spline_num_params(K);
  x[size_t(r) * ldx + i] =
      math::rq_inverse(z[size_t(r) * D + i], h + (size_t(r) * D + i) * P, K, bound);
}

void check_spline_shape(const char* who, int B, int D, int K, float bound) {
  EF_CHECK(B >= 0 && D > 0, who, ": bad shape B=", B, " D=", D);
  EF_CHECK(K >= 2 && K <= math::kSplineMaxBins, who, ": bins must be in [2, ",
           math::kSplineMaxBins, "] (got ", K, ")");
  EF_CHECK(bound > 0.f, who, ": tail bound must be > 0 (got ", bound, ")");
}

}  // namespace

void spline_forward_cuda(const float* x, int ldx, const float* h, const int* mask, int B, int D,
                         int K, float bound, float* z, float* logdet, cudaStream_t stream) {
  check_spline_shape("spline_forward_cuda", B, D, K, bound);
  EF_CHECK(ldx >= D, "spline_forward_cuda: ldx=", ldx, " < D=", D);
  EF_CHECK(x && h && z && logdet, "spline_forward_cuda: null buffer");
  if (B == 0) return;
  spline_forward_kernel<<<grid_for(size_t(B), kThreads), kThreads, 0, stream>>>(
      x, ldx, h, mask, B, D, K, bound, z, logdet);
  EF_CUDA_LAUNCH_CHECK();
}

void spline_backward_cuda(const float* x, int ldx, const float* h, const int* mask,
                          const float* dz, const float* dlogdet, int B, int D, int K, float bound,
                          float* dh, float* dx, cudaStream_t stream) {
  check_spline_shape("spline_backward_cuda", B, D, K, bound);
  EF_CHECK(ldx >= D, "spline_backward_cuda: ldx=", ldx, " < D=", D);
  EF_CHECK(x && h && dz && dlogdet && dh && dx, "spline_backward_cuda: null buffer");
  if (B == 0) return;
  spline_backward_kernel<<<grid_for(size_t(B) * D, kThreads), kThreads, 0, stream>>>(
      x, ldx, h, mask, dz, dlogdet, B, D, K, bound, dh, dx);
  EF_CUDA_LAUNCH_CHECK();
}

void spline_inverse_cuda(const float* z, const float* h, const int* mask, int B, int D, int K,
                         float bound, float* x, cudaStream_t stream) {
  check_spline_shape("spline_inverse_cuda", B, D, K, bound);
  EF_CHECK(z && h && x, "spline_inverse_cuda: null buffer");
  if (B == 0) return;
  spline_inverse_kernel<<<grid_for(size_t(B) * D, kThreads), kThreads, 0, stream>>>(
      z, h, mask, B, D, K, bound, x);
  EF_CUDA_LAUNCH_CHECK();
}

void spline_inverse_step_cuda(const float* z, const float* h, int B, int D, int i, int K,
                              float bound, float* x, int ldx, cudaStream_t stream) {
  check_spline_shape("spline_inverse_step_cuda", B, D, K, bound);
  EF_CHECK(i >= 0 && i < D && ldx >= D, "spline_inverse_step_cuda: bad i=", i, " D=", D,
           " ldx=", ldx);
  EF_CHECK(z && h && x, "spline_inverse_step_cuda: null buffer");
  if (B == 0) return;
  spline_inverse_step_kernel<<<grid_for(size_t(B), kThreads), kThreads, 0, stream>>>(
      z, h, B, D, i, K, bound, x, ldx);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
