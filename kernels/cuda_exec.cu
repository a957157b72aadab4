// CudaExec's non-template members (see cuda_exec.cuh).
#include <cub/device/device_radix_sort.cuh>

#include "cuda_exec.cuh"
#include "reductions.cuh"

namespace ef {

namespace {
constexpr size_t kBlasWorkspaceBytes = size_t(32) << 20;
}

CudaExec::CudaExec() {
  EF_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  EF_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
  EF_CUBLAS_CHECK(cublasCreate(&blas_));
  EF_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
  EF_CUDA_CHECK(cudaMalloc(&blas_ws_, kBlasWorkspaceBytes));
  EF_CUBLAS_CHECK(cublasSetWorkspace(blas_, blas_ws_, kBlasWorkspaceBytes));
  kernels::fused_mlp_init();
}

CudaExec::~CudaExec() {
  // Destructors must not throw: errors here are ignored (the context may already be gone).
  if (stream_) cudaStreamSynchronize(stream_);
  if (copy_stream_) cudaStreamSynchronize(copy_stream_);
  if (blas_) cublasDestroy(blas_);
  cudaFree(blas_ws_);
  cudaFree(colsum_ws_);
  cudaFree(sort_tmp_);
  if (stream_) cudaStreamDestroy(stream_);
  if (copy_stream_) cudaStreamDestroy(copy_stream_);
}

void CudaExec::free(void* p) noexcept {
  if (!p) return;
  cudaStreamSynchronize(stream_);  // no kernel may still be using it
  cudaFree(p);
}

void CudaExec::upload(void* dst, const void* src, size_t bytes) {
  if (bytes) EF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
  // The source may be a temporary of the caller: wait until it has been read.
  EF_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaExec::download(void* dst, const void* src, size_t bytes) {
  if (bytes) EF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  EF_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaExec::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) EF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaExec::memset(void* dst, int byte, size_t bytes) {
  if (bytes) EF_CUDA_CHECK(cudaMemsetAsync(dst, byte, bytes, stream_));
}

void CudaExec::sync() { EF_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void CudaExec::reserve(int rows, int cols) {
  const size_t n = kernels::colsum_workspace(rows, cols);
  if (n <= colsum_ws_n_) return;
  sync();
  cudaFree(colsum_ws_);
  colsum_ws_ = nullptr;
  EF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&colsum_ws_), n * sizeof(float)));
  colsum_ws_n_ = n;
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
void CudaExec::gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  EF_CHECK(m >= 0 && n >= 0 && k >= 0, "CudaExec::gemm: bad shape ", m, "x", n, "x", k);
  if (m == 0 || n == 0) return;
  EF_CUBLAS_CHECK(cublasSgemm(blas_, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                              n, m, k, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

void CudaExec::colsum_add(const float* A, int rows, int cols, float* out) {
  EF_CHECK(kernels::colsum_workspace(rows, cols) <= colsum_ws_n_,
           "CudaExec::colsum_add: ", rows, "x", cols, " exceeds the reserved scratch");
  kernels::colsum_add_cuda(A, rows, cols, out, colsum_ws_, stream_);
}

void CudaExec::mean(const float* v, int n, double* out) {
  EF_CHECK(n >= 1, "CudaExec::mean of no values");
  kernels::sum_scaled_cuda(v, n, 1.0 / n, out, stream_);
}

void CudaExec::sort_pairs(const uint64_t* keys, const int* vals, uint64_t* keys_out,
                          int* vals_out, int n) {
  size_t bytes = 0;
  EF_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, keys, keys_out, vals, vals_out, n,
                                                0, 64, stream_));
  if (bytes > sort_tmp_bytes_) {
    sync();
    cudaFree(sort_tmp_);
    sort_tmp_ = nullptr;
    EF_CUDA_CHECK(cudaMalloc(&sort_tmp_, bytes));
    sort_tmp_bytes_ = bytes;
  }
  EF_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(sort_tmp_, bytes, keys, keys_out, vals, vals_out,
                                                n, 0, 64, stream_));
}

void CudaExec::begin_capture() {
  EF_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
}

void CudaExec::abort_capture() {
  cudaGraph_t g = nullptr;
  cudaStreamEndCapture(stream_, &g);  // ends the (invalidated) capture; errors are the caller's
  if (g) cudaGraphDestroy(g);
  cudaGetLastError();
}

void CudaExec::end_capture(Graph& g) {
  EF_CUDA_CHECK(cudaStreamEndCapture(stream_, &g.graph));
  EF_CUDA_CHECK(cudaGraphInstantiate(&g.exec, g.graph, 0));
}

void CudaExec::free_host(void* p) noexcept {
  if (!p) return;
  cudaStreamSynchronize(copy_stream_);  // no copy may still be reading it
  cudaFreeHost(p);
}

void CudaExec::event_init(Event& ev) {
  if (!ev.e) EF_CUDA_CHECK(cudaEventCreateWithFlags(&ev.e, cudaEventDisableTiming));
}

void CudaExec::event_free(Event& ev) {
  if (ev.e) cudaEventDestroy(ev.e);
  ev.e = nullptr;
}

// Waiting on an event never recorded returns at once: the first use of a slot waits for nothing.
void CudaExec::copy_wait(const Event& ev) {
  EF_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, ev.e, 0));
}

void CudaExec::upload_on_copy(void* dst, const void* src, size_t bytes) {
  if (bytes)
    EF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, copy_stream_));
}

void CudaExec::record_copy(Event& ev) { EF_CUDA_CHECK(cudaEventRecord(ev.e, copy_stream_)); }

void CudaExec::compute_wait(const Event& ev) {
  EF_CUDA_CHECK(cudaStreamWaitEvent(stream_, ev.e, 0));
}

void CudaExec::record_compute(Event& ev) { EF_CUDA_CHECK(cudaEventRecord(ev.e, stream_)); }

void CudaExec::host_wait(const Event& ev) { EF_CUDA_CHECK(cudaEventSynchronize(ev.e)); }

void CudaExec::download_after(void* dst, const void* src, size_t bytes, const Event& after) {
  EF_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, after.e, 0));
  if (bytes)
    EF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, copy_stream_));
  EF_CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
}

size_t CudaExec::free_bytes() const {
  size_t free = 0, total = 0;
  EF_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

void CudaExec::launch(Graph& g) { EF_CUDA_CHECK(cudaGraphLaunch(g.exec, stream_)); }

void CudaExec::reset_graph(Graph& g) {
  if (g.exec) {
    cudaStreamSynchronize(stream_);
    cudaGraphExecDestroy(g.exec);
  }
  if (g.graph) cudaGraphDestroy(g.graph);
  g = Graph();
}

}  // namespace ef
