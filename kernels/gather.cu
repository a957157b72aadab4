// Row gather, conditioner input packing and fills (see gather.cuh). All grid-stride loops over
// output elements, so consecutive threads touch consecutive addresses.
#include "cuda_check.cuh"
#include "gather.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void gather_rows_kernel(const float* __restrict__ src, size_t n_src, int width,
                                   const int64_t* __restrict__ idx, size_t n,
                                   float* __restrict__ dst) {
  const size_t total = n * size_t(width);
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / size_t(width), j = k % size_t(width);
    const int64_t s = idx[r];
    const bool ok = s >= 0 && uint64_t(s) < n_src;
    dst[k] = ok ? src[size_t(s) * width + j] : __int_as_float(0x7fc00000);  // quiet NaN
  }
}

__global__ void pack_input_kernel(const float* __restrict__ x, const float* __restrict__ ctx,
                                  int B, int D, int C, float* __restrict__ in) {
  const int W = D + C;
  const size_t total = size_t(B) * W;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / W;
    const int j = int(k % W);
    in[k] = j < D ? x[r * D + j] : ctx[r * C + (j - D)];
  }
}

__global__ void unpack_grad_kernel(const float* __restrict__ din, int B, int D, int C,
                                   float* __restrict__ dx, float* __restrict__ dctx) {
  const int W = D + C;
  const size_t total = size_t(B) * W;
  for (size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += size_t(gridDim.x) * blockDim.x) {
    const size_t r = k / W;
    const int j = int(k % W);
    if (j < D)
      dx[r * D + j] += din[k];
    else if (dctx)
      dctx[r * C + (j - D)] += din[k];
  }
}

__global__ void fill_kernel(float* __restrict__ p, size_t n, float value) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    p[i] = value;
}

}  // namespace

void gather_rows_cuda(const float* src, size_t n_src, int width, const int64_t* idx, size_t n,
                      float* dst, cudaStream_t stream) {
  EF_CHECK(width > 0, "gather_rows_cuda: bad width ", width);
  EF_CHECK((src || n_src == 0) && ((idx && dst) || n == 0), "gather_rows_cuda: null buffer");
  if (n == 0) return;
  const size_t total = n * size_t(width);
  gather_rows_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(src, n_src, width, idx,
                                                                         n, dst);
  EF_CUDA_LAUNCH_CHECK();
}

void pack_input_cuda(const float* x, const float* ctx, int B, int D, int C, float* in,
                     cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0 && C >= 0, "pack_input_cuda: bad shape B=", B, " D=", D, " C=", C);
  EF_CHECK(x && in && (ctx || C == 0), "pack_input_cuda: null buffer");
  if (B == 0) return;
  pack_input_kernel<<<grid_for(size_t(B) * (D + C), kThreads), kThreads, 0, stream>>>(x, ctx, B,
                                                                                      D, C, in);
  EF_CUDA_LAUNCH_CHECK();
}

void unpack_grad_cuda(const float* din, int B, int D, int C, float* dx, float* dctx,
                      cudaStream_t stream) {
  EF_CHECK(B >= 0 && D > 0 && C >= 0, "unpack_grad_cuda: bad shape B=", B, " D=", D, " C=", C);
  EF_CHECK(din && dx, "unpack_grad_cuda: null buffer");
  if (B == 0) return;
  unpack_grad_kernel<<<grid_for(size_t(B) * (D + C), kThreads), kThreads, 0, stream>>>(
      din, B, D, C, dx, dctx);
  EF_CUDA_LAUNCH_CHECK();
}

void fill_cuda(float* p, size_t n, float value, cudaStream_t stream) {
  EF_CHECK(p || n == 0, "fill_cuda: null buffer");
  if (n == 0) return;
  fill_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(p, n, value);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
