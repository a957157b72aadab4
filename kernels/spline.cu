// Rational-quadratic spline kernels (see spline.cuh): one thread per row, each calling the
// shared kernels/spline_math.hpp functions (the axis softmax cached in a small local array, the
// bin search a running sum over it), so a row computes exactly what the CPU reference computes.
#include "spline_math.hpp"
#include "cuda_check.cuh"
#include "spline.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

// One thread per row, so the row's log-det is summed in the CPU's order. Coupling (tr non-null):
// the pass-through dims are copied first.
__global__ void spline_forward_kernel(const float* __restrict__ x, int ldx,
                                      const float* __restrict__ h, const int* __restrict__ tr,
                                      int nt, int B, int D, int K, float bound,
                                      float* __restrict__ z, float* __restrict__ logdet) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const int P = math::spline_num_params(K);
  const float* hr = h + size_t(r) * nt * P;
  if (tr)
    for (int i = 0; i < D; ++i) z[size_t(r) * D + i] = x[size_t(r) * ldx + i];
  float ld = 0.f;
  for (int k = 0; k < nt; ++k) {
    const int i = tr ? tr[k] : k;
    float l;
    z[size_t(r) * D + i] = math::rq_forward(x[size_t(r) * ldx + i], hr + size_t(k) * P, K, bound, &l);
    ld += l;
  }
  logdet[r] += ld;
}

// One thread per (row, transformed dim), grid-stride; dx already holds dz.
__global__ void spline_backward_kernel(const float* __restrict__ x, int ldx,
                                       const float* __restrict__ h, const int* __restrict__ tr,
                                       int nt, const float* __restrict__ dz,
                                       const float* __restrict__ dlogdet, int B, int D, int K,
                                       float bound, float* __restrict__ dh,
                                       float* __restrict__ dx) {
  const int P = math::spline_num_params(K);
  const size_t n = size_t(B) * nt;
  for (size_t q = size_t(blockIdx.x) * blockDim.x + threadIdx.x; q < n;
       q += size_t(gridDim.x) * blockDim.x) {
    const size_t r = q / nt;
    const int i = tr ? tr[q % nt] : int(q % nt);
    const size_t e = r * D + i;
    dx[e] = math::rq_backward(x[r * ldx + i], h + q * P, K, bound, dz[e], dlogdet[r], dh + q * P);
  }
}

// Coupling inverse, one thread per (row, transformed dim); x already holds z.
__global__ void spline_inverse_kernel(const float* __restrict__ z, const float* __restrict__ h,
                                      const int* __restrict__ tr, int nt, int B, int D, int K,
                                      float bound, float* __restrict__ x) {
  const int P = math::spline_num_params(K);
  const size_t n = size_t(B) * nt;
  for (size_t q = size_t(blockIdx.x) * blockDim.x + threadIdx.x; q < n;
       q += size_t(gridDim.x) * blockDim.x) {
    const size_t e = (q / nt) * D + tr[q % nt];
    x[e] = math::rq_inverse(z[e], h + q * P, K, bound);
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

void spline_forward_cuda(const float* x, int ldx, const float* h, const int* tr, int nt, int B,
                         int D, int K, float bound, float* z, float* logdet, cudaStream_t stream) {
  check_spline_shape("spline_forward_cuda", B, D, K, bound);
  EF_CHECK(ldx >= D && nt >= 0 && nt <= D && (tr || nt == D), "spline_forward_cuda: ldx=", ldx,
           " nt=", nt, " D=", D);
  EF_CHECK(x && z && logdet && (h || nt == 0), "spline_forward_cuda: null buffer");
  if (B == 0) return;
  spline_forward_kernel<<<grid_for(size_t(B), kThreads), kThreads, 0, stream>>>(
      x, ldx, h, tr, nt, B, D, K, bound, z, logdet);
  EF_CUDA_LAUNCH_CHECK();
}

void spline_backward_cuda(const float* x, int ldx, const float* h, const int* tr, int nt,
                          const float* dz, const float* dlogdet, int B, int D, int K, float bound,
                          float* dh, float* dx, cudaStream_t stream) {
  check_spline_shape("spline_backward_cuda", B, D, K, bound);
  EF_CHECK(ldx >= D && nt >= 0 && nt <= D && (tr || nt == D), "spline_backward_cuda: ldx=", ldx,
           " nt=", nt, " D=", D);
  EF_CHECK(x && dz && dlogdet && dx && ((h && dh) || nt == 0), "spline_backward_cuda: null buffer");
  if (B == 0) return;
  EF_CUDA_CHECK(cudaMemcpyAsync(dx, dz, size_t(B) * D * sizeof(float), cudaMemcpyDeviceToDevice,
                                stream));
  if (nt == 0) return;
  spline_backward_kernel<<<grid_for(size_t(B) * nt, kThreads), kThreads, 0, stream>>>(
      x, ldx, h, tr, nt, dz, dlogdet, B, D, K, bound, dh, dx);
  EF_CUDA_LAUNCH_CHECK();
}

void spline_inverse_cuda(const float* z, const float* h, const int* tr, int nt, int B, int D,
                         int K, float bound, float* x, cudaStream_t stream) {
  check_spline_shape("spline_inverse_cuda", B, D, K, bound);
  EF_CHECK(nt >= 0 && nt <= D, "spline_inverse_cuda: nt=", nt, " D=", D);
  EF_CHECK(z && x && ((h && tr) || nt == 0), "spline_inverse_cuda: null buffer");
  if (B == 0) return;
  EF_CUDA_CHECK(cudaMemcpyAsync(x, z, size_t(B) * D * sizeof(float), cudaMemcpyDeviceToDevice,
                                stream));
  if (nt == 0) return;
  spline_inverse_kernel<<<grid_for(size_t(B) * nt, kThreads), kThreads, 0, stream>>>(
      z, h, tr, nt, B, D, K, bound, x);
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
