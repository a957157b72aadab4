// Column sums and the scaled batch sum of the CUDA executor (see reductions.cuh).
#include "cuda_check.cuh"
#include "reductions.cuh"

namespace ef::kernels {
namespace {

constexpr int kColsumRowsPerChunk = 256;  // rows summed by one block of the first pass
constexpr int kColsumMaxChunks = 512;     // bounds the workspace and the second pass
constexpr int kSumThreads = 1024;         // the single block of sum_scaled

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

size_t colsum_workspace(int rows, int cols) {
  return size_t(colsum_chunks(rows)) * size_t(cols > 0 ? cols : 0);
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

void sum_scaled_cuda(const float* v, int n, double scale, double* out, cudaStream_t stream) {
  EF_CHECK(n >= 0, "sum_scaled_cuda: bad size n=", n);
  EF_CHECK((v || n == 0) && out, "sum_scaled_cuda: null buffer");
  sum_scaled_kernel<<<1, kSumThreads, 0, stream>>>(v, n, scale, out);
  EF_CUDA_LAUNCH_CHECK();
}

}  // namespace ef::kernels
