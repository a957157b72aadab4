// Helpers of the GPU kernel tests: the device gate, RAII device buffers (poisoned with NaN so
// unwritten outputs fail), fresh random inputs, a float-tolerance comparison, and GpuMlp, which
// composes the masked_linear kernels into a whole conditioner network exactly as
// engine/masked_mlp.cpp runs it.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "flow_math.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/masked_linear.cuh"
#include "masked_mlp.hpp"

namespace efg {

constexpr int kSkipReturnCode = 77;  // ctest SKIP_RETURN_CODE

// First line of every test case. main() already exits 77 without a device; this keeps a test
// from passing silently if it is ever run another way.
inline void require_gpu() {
  const ef::CudaInfo& ci = ef::cuda_info();
  if (ci.devices <= 0) MESSAGE("SKIPPED: no usable CUDA device (", ci.reason, ")");
  REQUIRE_MESSAGE(ci.devices > 0, "no usable CUDA device: ", ci.reason);
}

// A fresh seed per call (printed through INFO by the callers, so a failure can be replayed).
inline uint64_t fresh_seed() {
  static std::random_device rd;
  return (uint64_t(rd()) << 32) ^ rd();
}

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f, float shift = 0.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = shift + scale * float(ef::math::rand_normal(seed, 5, i));
  return v;
}

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (n_) EF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)));
    poison();
  }
  explicit DeviceBuffer(const std::vector<T>& v) : DeviceBuffer(v.size()) { upload(v); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(o.n_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& v) {
    REQUIRE(v.size() == n_);
    if (n_) EF_CUDA_CHECK(cudaMemcpy(p_, v.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    EF_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> v(n_);
    if (n_) EF_CUDA_CHECK(cudaMemcpy(v.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }
  // All bytes 0xFF: NaN as float or double, -1 as an integer.
  void poison() {
    if (n_) EF_CUDA_CHECK(cudaMemset(p_, 0xFF, n_ * sizeof(T)));
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Every element within atol + rtol * |ref|, where atol = atol_frac * max|ref| (sums computed in
// different orders differ by a few ulps of their largest terms). A NaN where the reference is
// finite (an element the kernel never wrote) always fails.
inline void check_close(const std::vector<float>& got, const std::vector<float>& ref,
                        const std::string& what, double rtol = 1e-4, double atol_frac = 1e-5) {
  REQUIRE_MESSAGE(got.size() == ref.size(), what, ": size ", got.size(), " vs ", ref.size());
  double scale = 0;
  for (float r : ref) scale = std::fmax(scale, std::fabs(double(r)));
  const double atol = atol_frac * scale + 1e-30;
  size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double g = got[i], r = ref[i];
    const double tol = atol + rtol * std::fabs(r);
    const double ratio = std::isfinite(g) ? std::fabs(g - r) / tol : INFINITY;
    if (!(ratio <= 1.0)) ++bad;
    if (!(ratio <= worst_ratio)) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  INFO(what, ": ", bad, " of ", ref.size(), " outside tolerance; worst at ", worst, ": got ",
       (got.empty() ? 0.f : got[worst]), " ref ", (ref.empty() ? 0.f : ref[worst]),
       " (error/tolerance ", worst_ratio, ", max|ref| ", scale, ")");
  CHECK(bad == 0);
}

// Owns a cuBLAS handle and a non-default stream (so launchers' stream arguments are exercised).
struct GpuContext {
  cublasHandle_t blas = nullptr;
  cudaStream_t stream = nullptr;
  GpuContext() {
    EF_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    EF_CUBLAS_CHECK(cublasCreate(&blas));
  }
  ~GpuContext() {
    if (blas) cublasDestroy(blas);
    if (stream) cudaStreamDestroy(stream);
  }
  void sync() const { EF_CUDA_CHECK(cudaStreamSynchronize(stream)); }
  GpuContext(const GpuContext&) = delete;
  GpuContext& operator=(const GpuContext&) = delete;
};

inline ef::kernels::Act to_act(ef::Activation a) {
  return a == ef::Activation::ReLU ? ef::kernels::Act::ReLU : ef::kernels::Act::Tanh;
}

// A MaskedMLP's forward/backward built from the masked_linear kernels (what the CUDA backend
// will do). Device params/grads use the CPU model's ParamLayout offsets.
class GpuMlp {
 public:
  GpuMlp(const ef::MaskedMLP<float>& mlp, ef::Activation act, int B)
      : mlp_(mlp), act_(to_act(act)) {
    const auto& n = mlp.sizes();
    const int L = mlp.num_layers();
    int maxn = 0;
    for (int s : n) maxn = s > maxn ? s : maxn;
    for (int l = 0; l < L; ++l) masks_.emplace_back(mlp.mask(l));
    h_.resize(L);
    for (int l = 1; l < L; ++l) h_[l] = DeviceBuffer<float>(size_t(B) * n[l]);
    d0_ = DeviceBuffer<float>(size_t(B) * maxn);
    d1_ = DeviceBuffer<float>(size_t(B) * maxn);
    size_t ws = 1;
    for (int l = 0; l < L; ++l)
      ws = std::max(ws, ef::kernels::masked_linear_backward_workspace(B, n[l + 1]));
    ws_ = DeviceBuffer<float>(ws);
  }

  // Y (B, out) = MLP(X (B, in)); X must stay alive until backward.
  void forward(const GpuContext& g, const float* P, const float* X, int B, float* Y) {
    using ef::kernels::Act;
    const auto& n = mlp_.sizes();
    const int L = mlp_.num_layers();
    x_ = X;
    for (int l = 0; l < L; ++l) {
      const bool last = l == L - 1;
      const float* in = l == 0 ? X : h_[l].get();
      float* out = last ? Y : h_[l + 1].get();
      ef::kernels::masked_linear_forward_cuda(g.blas, in, P + mlp_.weight_offset(l),
                                              P + mlp_.bias_offset(l), B, n[l], n[l + 1],
                                              last ? Act::Identity : act_, out, g.stream);
    }
  }

  // grads += dL/dP; dX (B, in) = dL/dX (null skips).
  void backward(const GpuContext& g, const float* P, const float* dY, int B, float* grads,
                float* dX) {
    using ef::kernels::Act;
    const auto& n = mlp_.sizes();
    const float* cur = dY;
    for (int l = mlp_.num_layers() - 1; l >= 0; --l) {
      const float* in = l == 0 ? x_ : h_[l].get();
      float* din = l == 0 ? dX : (cur == d0_.get() ? d1_.get() : d0_.get());
      ef::kernels::masked_linear_backward_cuda(
          g.blas, in, P + mlp_.weight_offset(l), masks_[l].get(), cur, B, n[l], n[l + 1],
          l > 0 ? act_ : Act::Identity, grads + mlp_.weight_offset(l),
          grads + mlp_.bias_offset(l), din, ws_.get(), g.stream);
      cur = din;
    }
  }

 private:
  const ef::MaskedMLP<float>& mlp_;
  ef::kernels::Act act_;
  std::vector<DeviceBuffer<float>> masks_, h_;
  DeviceBuffer<float> d0_, d1_, ws_;
  const float* x_ = nullptr;
};

// Random parameters for a conditioner, masked weights kept at exactly zero (as init does).
inline void randomize_params(const ef::MaskedMLP<float>& mlp, std::vector<float>& P,
                             uint64_t seed, float scale) {
  auto r = randn(P.size(), seed, scale);
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const size_t nw = mlp.mask(l).size();
    for (size_t i = 0; i < nw; ++i)
      P[mlp.weight_offset(l) + i] = r[mlp.weight_offset(l) + i] * mlp.mask(l)[i];
    for (int j = 0; j < mlp.sizes()[l + 1]; ++j)
      P[mlp.bias_offset(l) + j] = 0.5f * r[mlp.bias_offset(l) + j];
  }
}

}  // namespace efg
