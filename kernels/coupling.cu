// Coupling launchers (see coupling.cuh): a copy for the pass-through dims, then the shared
// per-row / per-element ops of kernels/ops/flow_ops.hpp.
#include "coupling.cuh"
#include "cuda_exec.cuh"
#include "ops/flow_ops.hpp"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

template <class F>
void launch(size_t n, const F& f, cudaStream_t stream) {
  if (n == 0) return;
  for_each_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(n, f);
  EF_CUDA_LAUNCH_CHECK();
}

void check_shape(const char* who, int B, int D, int nt, const int* tr) {
  EF_CHECK(B >= 0 && D > 0 && nt >= 0 && nt <= D, who, ": bad shape B=", B, " D=", D, " nt=", nt);
  EF_CHECK(tr || nt == 0, who, ": null transformed-dims array");
}

}  // namespace

void coupling_forward_cuda(const float* x, const float* h, const int* tr, int nt, int B, int D,
                           float clamp, float* z, float* logdet, cudaStream_t stream) {
  check_shape("coupling_forward_cuda", B, D, nt, tr);
  EF_CHECK(x && z && logdet && (h || nt == 0), "coupling_forward_cuda: null buffer");
  if (B == 0) return;
  EF_CUDA_CHECK(cudaMemcpyAsync(z, x, size_t(B) * D * sizeof(float), cudaMemcpyDeviceToDevice,
                                stream));
  if (nt) launch(size_t(B), ops::CouplingForward{x, h, tr, nt, D, clamp, z, logdet}, stream);
}

void coupling_inverse_cuda(const float* z, const float* h, const int* tr, int nt, int B, int D,
                           float clamp, float* x, cudaStream_t stream) {
  check_shape("coupling_inverse_cuda", B, D, nt, tr);
  EF_CHECK(z && x && (h || nt == 0), "coupling_inverse_cuda: null buffer");
  if (B == 0) return;
  EF_CUDA_CHECK(cudaMemcpyAsync(x, z, size_t(B) * D * sizeof(float), cudaMemcpyDeviceToDevice,
                                stream));
  launch(size_t(B) * nt, ops::CouplingInverse{z, h, tr, nt, D, clamp, x}, stream);
}

void coupling_backward_cuda(const float* x, const float* h, const int* tr, int nt,
                            const float* dz, const float* dlogdet, int B, int D, float clamp,
                            float* dh, float* dx, cudaStream_t stream) {
  check_shape("coupling_backward_cuda", B, D, nt, tr);
  EF_CHECK(x && dz && dlogdet && dx && ((h && dh) || nt == 0),
           "coupling_backward_cuda: null buffer");
  if (B == 0) return;
  EF_CUDA_CHECK(cudaMemcpyAsync(dx, dz, size_t(B) * D * sizeof(float), cudaMemcpyDeviceToDevice,
                                stream));
  launch(size_t(B) * nt,
         ops::CouplingBackward{x, h, tr, nt, D, clamp, dz, dlogdet, dh, dx}, stream);
}

}  // namespace ef::kernels
