// HostExec: the executor of DeviceBackend<HostExec> (engine/device_backend.hpp) on the CPU.
// "Device" memory is host memory, a launch is a loop over the flat index calling the same
// functor the CUDA kernel calls (kernels/ops/), GEMMs are the CPU reference's gemm_par, and a
// "graph" is the recorded step run again. So every line of the device backend above the
// executor runs, and is tested, on machines without a GPU.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

#include "ops/fused_mlp.hpp"
#include "blas.hpp"
#include "error.hpp"
#include "parallel.hpp"

namespace ef {

class HostExec {
 public:
  static const char* name() { return "host-emulated device"; }
  // Device memory is host memory here, so a host communicator can sum the gradient buffer
  // (engine/device_grad_sum.hpp); there is no stream to order a collective on.
  static constexpr bool host_memory() { return true; }
  void* collective_stream() const { return nullptr; }

  // New buffers are filled with 0xFF bytes (NaN floats, -1 ints), as on the device, so a read
  // of anything never written shows up in the tests.
  template <class T>
  T* alloc(size_t n) {
    void* p = std::malloc(std::max<size_t>(n, 1) * sizeof(T));
    EF_CHECK(p, "HostExec: out of memory allocating ", n * sizeof(T), " bytes");
    std::memset(p, 0xFF, std::max<size_t>(n, 1) * sizeof(T));
    live_counter().fetch_add(1, std::memory_order_relaxed);
    return static_cast<T*>(p);
  }
  void free(void* p) noexcept {
    if (!p) return;
    live_counter().fetch_sub(1, std::memory_order_relaxed);
    std::free(p);
  }
  // Allocations made and not yet freed, by every HostExec of the process: the tests check that
  // a backend whose construction or growth throws gives back all it took.
  static long live_allocations() { return live_counter().load(); }
  void upload(void* dst, const void* src, size_t bytes) { copy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) { copy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) {
    if (bytes) std::memmove(dst, src, bytes);
  }
  void memset(void* dst, int byte, size_t bytes) { std::memset(dst, byte, bytes); }
  void sync() {}
  // Scratch for rows x cols reductions (the CUDA executor's column sums need some).
  void reserve(int /*rows*/, int /*cols*/) {}

  template <class F>
  void for_each(size_t n, const F& f) {
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
    for (size_t i = 0; i < n; ++i) f(i);
  }
  // Row-major C = alpha op(A) op(B) + beta C.
  void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc) {
    gemm_par(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  // out (cols) += column sums of A (rows, cols), rows in order (the CPU's bias-gradient loop).
  void colsum_add(const float* A, int rows, int cols, float* out) {
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < cols; ++j) out[j] += A[size_t(r) * cols + j];
  }
  // *out = sum(v[0..n)) / n, summed in double in row order (the CPU backend's loss).
  void mean(const float* v, int n, double* out) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += v[i];
    *out = s / n;
  }
  // The fused conditioner MLP (kernels/ops/fused_mlp.hpp): each tile's body run by a team of
  // one, tiles in parallel, with NaN-filled scratch (a read of scratch never written shows).
  void fused_mlp_forward(const ops::FusedMlp& m, const float* X, int B, float* Y) {
    const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
#pragma omp parallel if (tiles > 1)
    {
      std::vector<float> s(ops::fused_scratch_floats(m.max_width), NAN);
#pragma omp for schedule(static)
      for (int t = 0; t < tiles; ++t)
        ops::fused_mlp_forward_tile(ops::SerialTeam{}, m, X, B, t, Y, s.data());
    }
  }
  // The fused autoregressive inverse (ops::fused_ar_inverse_tile), tiles in parallel.
  template <class Step>
  void fused_ar_inverse(const ops::FusedMlp& m, float* in, int B, float* Y, const Step& step) {
    const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
#pragma omp parallel if (tiles > 1)
    {
      std::vector<float> s(ops::fused_scratch_floats(m.max_width), NAN);
#pragma omp for schedule(static)
      for (int t = 0; t < tiles; ++t)
        ops::fused_ar_inverse_tile(ops::SerialTeam{}, m, in, B, t, Y, s.data(), step);
    }
  }
  void fused_mlp_backward(const ops::FusedMlp& m, const float* dY, float* const* dZ, float* dX,
                          int B) {
    const int tiles = (B + ops::kFusedTileRows - 1) / ops::kFusedTileRows;
#pragma omp parallel if (tiles > 1)
    {
      std::vector<float> s(ops::fused_scratch_floats(m.max_width), NAN);
#pragma omp for schedule(static)
      for (int t = 0; t < tiles; ++t)
        ops::fused_mlp_backward_tile(ops::SerialTeam{}, m, dY, dZ, dX, B, t, s.data());
    }
  }

  // Stable sort of (key, value) pairs by key: the permutation of a device shuffle.
  void sort_pairs(const uint64_t* keys, const int* vals, uint64_t* keys_out, int* vals_out,
                  int n) {
    std::vector<int> o(static_cast<size_t>(n));
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](int a, int b) { return keys[a] < keys[b]; });
    for (int i = 0; i < n; ++i) {
      keys_out[i] = keys[o[i]];
      vals_out[i] = vals[o[i]];
    }
  }

  // Graphs: the host has nothing to capture; a replay runs the step again.
  struct Graph {
    bool ready = false;
  };
  template <class Body>
  void run_graph(Graph& g, const Body& body) {
    g.ready = true;
    body();
  }
  void reset_graph(Graph& g) { g.ready = false; }

  // Streaming (host/stream_schedule.hpp): staging memory (pinned on the GPU), a copy stream
  // and events ordering it against the compute stream. Here every copy has finished when it
  // returns, so events and waits have nothing to do and the order of calls is the order of work.
  template <class T>
  T* alloc_host(size_t n) {
    return alloc<T>(n);
  }
  void free_host(void* p) noexcept { free(p); }
  struct Event {};
  void event_init(Event&) {}
  void event_free(Event&) {}
  void copy_wait(const Event&) {}  // the copy stream waits for a compute-stream event
  void upload_on_copy(void* dst, const void* src, size_t bytes) { copy(dst, src, bytes); }
  void record_copy(Event&) {}
  void compute_wait(const Event&) {}  // the compute stream waits for a copy-stream event
  void record_compute(Event&) {}
  void host_wait(const Event&) {}
  // Device-to-host copy on the copy stream once `after` has happened; returns when done.
  void download_after(void* dst, const void* src, size_t bytes, const Event&) {
    copy(dst, src, bytes);
  }
  // No device memory limit on the host: every test table is resident unless a test says not.
  size_t free_bytes() const { return size_t(1) << 50; }

 private:
  static std::atomic<long>& live_counter() {
    static std::atomic<long> n{0};
    return n;
  }
};

}  // namespace ef
