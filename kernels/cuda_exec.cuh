// CudaExec: the executor of the CUDA backend, DeviceBackend<CudaExec> (engine/device_backend.hpp,
// engine/cuda_backend.cu). One stream, one cuBLAS handle bound to it, device memory from
// cudaMalloc (filled with 0xFF bytes: NaN floats, so a read of anything never written shows),
// and one generic kernel: for_each(n, op) runs op(i) for i < n, op being a functor of
// kernels/ops/ whose body the host executor (engine/host_exec.hpp) runs in its loops. GEMMs are
// cuBLAS (full fp32: the default math mode, no TF32), column sums and the batch mean the
// deterministic reductions of reductions.cu, the shuffle sort CUB's radix sort (stable, like the
// host's). These are the only device implementations of the backend's ops: tests and benchmarks
// run them through this executor too (tests/gpu, bench/gpu).
// run_graph captures the body once on the stream and replays the graph afterwards.
// nvcc only: the kernel template is instantiated for each functor by the code that launches it.
#pragma once
#if !defined(__CUDACC__)
#error "kernels/cuda_exec.cuh is device code: include it from .cu files only"
#endif
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda_check.cuh"
#include "ops/flow_ops.hpp"
#include "ops/fused_mlp.hpp"

namespace ef {
namespace kernels {

// Grid-stride loop over [0, n): consecutive threads take consecutive indices, so element-wise
// ops read and write coalesced.
template <class F>
__global__ void for_each_kernel(size_t n, F f) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    f(i);
}

void fused_mlp_init();  // kernels/fused_mlp.cu: shared-memory opt-in of the fused MLP kernels

}  // namespace kernels

class CudaExec {
 public:
  CudaExec();
  ~CudaExec();
  CudaExec(const CudaExec&) = delete;
  CudaExec& operator=(const CudaExec&) = delete;
  static const char* name() { return "cuda"; }
  cudaStream_t stream() const { return stream_; }
  // The gradient sum of data-parallel training (engine/device_grad_sum.hpp) runs on the compute
  // stream, in the step's order (and inside its graph when the step is captured).
  static constexpr bool host_memory() { return false; }
  void* collective_stream() const { return stream_; }

  template <class T>
  T* alloc(size_t n) {
    const size_t bytes = (n ? n : 1) * sizeof(T);
    void* p = nullptr;
    EF_CUDA_CHECK(cudaMalloc(&p, bytes));
    EF_CUDA_CHECK(cudaMemsetAsync(p, 0xFF, bytes, stream_));
    return static_cast<T*>(p);
  }
  void free(void* p) noexcept;  // waits for the stream; errors are ignored (teardown)
  void upload(void* dst, const void* src, size_t bytes);
  void download(void* dst, const void* src, size_t bytes);  // waits for the stream
  void copy(void* dst, const void* src, size_t bytes);      // device to device, on the stream
  void memset(void* dst, int byte, size_t bytes);  // on the stream
  void sync();
  void reserve(int rows, int cols);  // column-sum scratch for rows x cols

  template <class F>
  void for_each(size_t n, const F& f) {
    if (n == 0) return;
    constexpr int kThreads = 256;
    kernels::for_each_kernel<<<kernels::grid_for(n, kThreads), kThreads, 0, stream_>>>(n, f);
    EF_CUDA_LAUNCH_CHECK();
  }
  void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc);
  void colsum_add(const float* A, int rows, int cols, float* out);
  void mean(const float* v, int n, double* out);
  void sort_pairs(const uint64_t* keys, const int* vals, uint64_t* keys_out, int* vals_out,
                  int n);
  // The fused conditioner MLP (kernels/ops/fused_mlp.hpp, kernels/fused_mlp.cu): one block of
  // kFusedThreads per tile of kFusedTileRows rows, the scratch in shared memory.
  void fused_mlp_forward(const ops::FusedMlp& m, const float* X, int B, float* Y);
  // The fused autoregressive inverse (ops::fused_ar_inverse_tile): one block per tile runs all
  // D passes of one MAF / nsf-ar layer.
  void fused_ar_inverse(const ops::FusedMlp& m, float* in, int B, float* Y,
                        const ops::MafInverseStep& step);
  void fused_ar_inverse(const ops::FusedMlp& m, float* in, int B, float* Y,
                        const ops::SplineInverseStep& step);
  void fused_mlp_backward(const ops::FusedMlp& m, const float* dY, float* const* dZ, float* dX,
                          int B);

  struct Graph {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
  };
  // First call: capture body() on the stream into g, then launch it; later calls only launch.
  template <class Body>
  void run_graph(Graph& g, const Body& body) {
    if (!g.exec) {
      begin_capture();
      try {
        body();
      } catch (...) {
        abort_capture();
        throw;
      }
      end_capture(g);
    }
    launch(g);
  }
  void reset_graph(Graph& g);

  // Streaming (host/stream_schedule.hpp, engine/host_exec.hpp has the host twin): pinned host
  // memory, a second stream for copies, and events that order the two streams and the host.
  template <class T>
  T* alloc_host(size_t n) {
    void* p = nullptr;
    EF_CUDA_CHECK(cudaMallocHost(&p, (n ? n : 1) * sizeof(T)));
    return static_cast<T*>(p);
  }
  void free_host(void* p) noexcept;
  struct Event {
    cudaEvent_t e = nullptr;
  };
  void event_init(Event& ev);
  void event_free(Event& ev);
  void copy_wait(const Event& ev);  // the copy stream waits for a compute-stream event
  void upload_on_copy(void* dst, const void* src, size_t bytes);  // async, pinned src
  void record_copy(Event& ev);
  void compute_wait(const Event& ev);  // the compute stream waits for a copy-stream event
  void record_compute(Event& ev);
  void host_wait(const Event& ev);
  // Device-to-host copy on the copy stream once `after` has happened (the compute stream keeps
  // running the steps enqueued since); returns when the copy is done.
  void download_after(void* dst, const void* src, size_t bytes, const Event& after);
  size_t free_bytes() const;

 private:
  void begin_capture();
  void end_capture(Graph& g);
  void abort_capture();
  void launch(Graph& g);

  cudaStream_t stream_ = nullptr;
  cudaStream_t copy_stream_ = nullptr;  // streamed training's uploads and lagged loss reads
  cublasHandle_t blas_ = nullptr;
  void* blas_ws_ = nullptr;  // cuBLAS workspace, set once so captured GEMMs never allocate
  float* colsum_ws_ = nullptr;
  size_t colsum_ws_n_ = 0;
  void* sort_tmp_ = nullptr;
  size_t sort_tmp_bytes_ = 0;
};

}  // namespace ef
