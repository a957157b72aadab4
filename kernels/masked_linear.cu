// Masked dense layer: cuBLAS GEMMs plus small fused elementwise kernels (see masked_linear.cuh).
//
// Row-major matrices are column-major transposes, so each row-major product is computed as its
// transpose in cuBLAS's column-major terms:
//   Y  = X W^T    <=>  Y^T  = W X^T         sgemm(T, N, nout, B, nin)
//   dX = dZ W     <=>  dX^T = W^T dZ^T      sgemm(N, N, nin, B, nout)
//   dW += dZ^T X  <=>  dW^T += X^T dZ       sgemm(N, T, nin, nout, B), beta = 1
#include "cuda_check.cuh"
#include "masked_linear.cuh"

namespace ef::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kColsumRowsPerChunk = 256;  // rows summed by one block of the first pass
constexpr int kColsumMaxChunks = 512;     // bounds the workspace and the second pass

__device__ __forceinline__ float act_forward(float v, Act a) {
  if (a == Act::ReLU) return v > 0.f ? v : 0.f;
  if (a == Act::Tanh) return tanhf(v);
  return v;
}
// Derivative from the activation's output h (same formulas as engine/masked_mlp.cpp).
__device__ __forceinline__ float act_backward(float d, float h, Act a) {
  if (a == Act::ReLU) return h > 0.f ? d : 0.f;
  if (a == Act::Tanh) return d * (1.f - h * h);
  return d;
}

// Y[r, j] = act(Y[r, j] + b[j]) over n = B * nout values (grid-stride).
__global__ void bias_act_kernel(float* __restrict__ Y, const float* __restrict__ b, size_t n,
                                int nout, Act act) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    Y[i] = act_forward(Y[i] + b[i % size_t(nout)], act);
}

__global__ void act_backward_kernel(float* __restrict__ dH, const float* __restrict__ H,
                                    size_t n, Act act) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    dH[i] = act_backward(dH[i], H[i], act);
}

__global__ void mask_mul_kernel(float* __restrict__ g, const float* __restrict__ m, size_t n) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    g[i] *= m[i];
}

// Column sums, pass 1. Block (32, 8) owns 32 columns (blockIdx.x) of one row chunk
// (blockIdx.y): lane x reads column x (coalesced), the 8 row lanes stride the chunk; the 8
// partials are then added in a fixed order. partial (chunks, cols).
__global__ void colsum_partial_kernel(const float* __restrict__ A, int rows, int cols,
                                      int rows_per_chunk, float* __restrict__ partial) {
  __shared__ float acc[8][33];
  const int col = blockIdx.x * 32 + threadIdx.x;
  const int r0 = blockIdx.y * rows_per_chunk;
  const int r1 = min(rows, r0 + rows_per_chunk);
  float s = 0.f;
  if (col < cols)
    for (int r = r0 + int(threadIdx.y); r < r1; r += 8) s += A[size_t(r) * cols + col];
  acc[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float t = 0.f;
#pragma unroll
    for (int k = 0; k < 8; ++k) t += acc[k][threadIdx.x];
    partial[size_t(blockIdx.y) * cols + col] = t;
  }
}

// Pass 2: out[c] += sum over chunks of partial[k, c], in chunk order.
__global__ void colsum_finish_kernel(const float* __restrict__ partial, int chunks, int cols,
                                     float* __restrict__ out) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float t = 0.f;
  for (int k = 0; k < chunks; ++k) t += partial[size_t(k) * cols + c];
  out[c] += t;
}

int colsum_chunks(int rows) {
  int chunks = (rows + kColsumRowsPerChunk - 1) / kColsumRowsPerChunk;
  return chunks < 1 ? 1 : (chunks > kColsumMaxChunks ? kColsumMaxChunks : chunks);
}

}  // namespace

void masked_linear_forward_cuda(cublasHandle_t handle, const float* X, const float* W,
                                const float* b, int B, int nin, int nout, Act act, float* Y,
                                cudaStream_t stream) {
  EF_CHECK(handle, "masked_linear_forward_cuda: null cuBLAS handle");
  EF_CHECK(B >= 0 && nin > 0 && nout > 0, "masked_linear_forward_cuda: bad shape B=", B,
           " nin=", nin, " nout=", nout);
  EF_CHECK(X && W && b && Y, "masked_linear_forward_cuda: null buffer");
  if (B == 0) return;
  EF_CUBLAS_CHECK(cublasSetStream(handle, stream));
  const float one = 1.f, zero = 0.f;
  EF_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, nout, B, nin, &one, W, nin, X,
                              nin, &zero, Y, nout));
  const size_t n = size_t(B) * nout;
  bias_act_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(Y, b, n, nout, act);
  EF_CUDA_LAUNCH_CHECK();
}

size_t masked_linear_backward_workspace(int B, int nout) {
  return size_t(colsum_chunks(B)) * size_t(nout > 0 ? nout : 0);
}

void colsum_add_cuda(const float* A, int rows, int cols, float* out, float* workspace,
                     cudaStream_t stream) {
  EF_CHECK(rows >= 0 && cols > 0, "colsum_add_cuda: bad shape rows=", rows, " cols=", cols);
  EF_CHECK(A && out && workspace, "colsum_add_cuda: null buffer");
  if (rows == 0) return;
  const int chunks = colsum_chunks(rows);
  const int per_chunk = (rows + chunks - 1) / chunks;
  const dim3 grid(unsigned((cols + 31) / 32), unsigned(chunks));
  colsum_partial_kernel<<<grid, dim3(32, 8), 0, stream>>>(A, rows, cols, per_chunk, workspace);
  EF_CUDA_LAUNCH_CHECK();
  colsum_finish_kernel<<<unsigned((cols + 127) / 128), 128, 0, stream>>>(workspace, chunks, cols,
                                                                          out);
  EF_CUDA_LAUNCH_CHECK();
}

void activation_backward_cuda(const float* H, size_t n, Act act, float* dH, cudaStream_t stream) {
  EF_CHECK(H && dH, "activation_backward_cuda: null buffer");
  if (n == 0 || act == Act::Identity) return;
  act_backward_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(dH, H, n, act);
  EF_CUDA_LAUNCH_CHECK();
}

void masked_linear_backward_cuda(cublasHandle_t handle, const float* X, const float* W,
                                 const float* mask, const float* dZ, int B, int nin, int nout,
                                 Act input_act, float* dW, float* db, float* dX, float* workspace,
                                 cudaStream_t stream) {
  EF_CHECK(handle, "masked_linear_backward_cuda: null cuBLAS handle");
  EF_CHECK(B >= 0 && nin > 0 && nout > 0, "masked_linear_backward_cuda: bad shape B=", B,
           " nin=", nin, " nout=", nout);
  EF_CHECK(X && W && mask && dZ && dW && db && workspace,
           "masked_linear_backward_cuda: null buffer");
  EF_CUBLAS_CHECK(cublasSetStream(handle, stream));
  const float one = 1.f, zero = 0.f;
  // dW^T (nin, nout) += X^T (nin, B) * dZ (B, nout); with B == 0 this leaves dW as it is.
  if (B > 0)
    EF_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_T, nin, nout, B, &one, X, nin, dZ,
                                nout, &one, dW, nin));
  const size_t nw = size_t(nout) * nin;
  mask_mul_kernel<<<grid_for(nw, kThreads), kThreads, 0, stream>>>(dW, mask, nw);
  EF_CUDA_LAUNCH_CHECK();
  colsum_add_cuda(dZ, B, nout, db, workspace, stream);
  if (!dX || B == 0) return;
  // dX^T (nin, B) = W^T (nin, nout) * dZ^T (nout, B)
  EF_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, nin, B, nout, &one, W, nin, dZ,
                              nout, &zero, dX, nin));
  activation_backward_cuda(X, size_t(B) * nin, input_act, dX, stream);
}

}  // namespace ef::kernels
