// Counter-based random fills (see rng.cuh). The draws are computed in double, as on the CPU,
// then rounded to float.
#include "flow_math.hpp"
#include "cuda_check.cuh"
#include "rng.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

template <bool Normal>
__global__ void fill_random_kernel(float* __restrict__ out, size_t n, uint64_t seed,
                                   uint64_t stream_id, uint64_t offset) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    out[i] = Normal ? float(math::rand_normal(seed, stream_id, offset + i))
                    : float(math::rand_uniform(seed, stream_id, offset + i));
}

}  // namespace

void fill_normal_cuda(float* out, size_t n, uint64_t seed, uint64_t stream_id, uint64_t offset,
                      cudaStream_t stream) {
  EF_CHECK(out || n == 0, "fill_normal_cuda: null buffer");
  if (n == 0) return;
  fill_random_kernel<true><<<grid_for(n, kThreads), kThreads, 0, stream>>>(out, n, seed,
                                                                           stream_id, offset);
  EF_CUDA_LAUNCH_CHECK();
}

void fill_uniform_cuda(float* out, size_t n, uint64_t seed, uint64_t stream_id, uint64_t offset,
                       cudaStream_t stream) {
  EF_CHECK(out || n == 0, "fill_uniform_cuda: null buffer");
  if (n == 0) return;
  fill_random_kernel<false><<<grid_for(n, kThreads), kThreads, 0, stream>>>(out, n, seed,
                                                                            stream_id, offset);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
