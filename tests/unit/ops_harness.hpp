// The executor-generic harness of the op tests (tests/unit/ops_*_cases.hpp): each case runs
// kernels/ops functors through an executor's for_each / gemm / reductions and compares them with
// the CPU reference (the engine's layers, MLP, categorical model and loops). The cases are
// templates: tests/unit/test_ops_host.cpp runs them on the host executor (every build), and
// tests/gpu/test_*_ops.cu on the CUDA executor, the very ops the device backend runs.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "device_cases.hpp"
#include "flow_math.hpp"
#include "masked_mlp.hpp"

namespace efo {

using efd::check_close;

// n elements of T in an executor's memory (0xFF bytes until written: NaN floats, -1 ints).
template <class Exec, class T>
class Buf {
 public:
  Buf(Exec& ex, size_t n)
      : ex_(&ex), n_(n), b_(ef::DeviceBuffer<Exec>::template make<T>(ex, n, ef::Memory::Device)) {}
  Buf(Exec& ex, const std::vector<T>& v) : Buf(ex, v.size()) { upload(v); }
  T* get() const { return static_cast<T*>(b_.get()); }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& v) {
    REQUIRE(v.size() == n_);
    ex_->upload(get(), v.data(), n_ * sizeof(T));
  }
  std::vector<T> download() const {
    std::vector<T> v(n_);
    ex_->download(v.data(), get(), n_ * sizeof(T));
    return v;
  }

 private:
  Exec* ex_;
  size_t n_;
  ef::DeviceBuffer<Exec> b_;
};

// Tolerances of a run: `scale` multiplies every case's host tolerances (1 on the host executor;
// larger on the GPU, whose expf/tanhf and cuBLAS sums round differently).
struct Tol {
  double scale = 1;
  double r(double v) const { return v * scale; }
};

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f, float shift = 0.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = shift + scale * float(ef::math::rand_normal(seed, 6, i));
  return v;
}

// Random parameters of an MLP in P (its ParamLayout offsets): masked weights exactly zero.
inline void randomize_mlp(const ef::MaskedMLP<float>& mlp, std::vector<float>& P, uint64_t seed,
                          float scale) {
  const std::vector<float> r = randn(P.size(), seed, scale);
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const std::vector<float>& mk = mlp.mask(l);
    for (size_t i = 0; i < mk.size(); ++i)
      P[mlp.weight_offset(l) + i] = r[mlp.weight_offset(l) + i] * mk[i];
    for (int j = 0; j < mlp.sizes()[size_t(l) + 1]; ++j)
      P[mlp.bias_offset(l) + size_t(j)] = 0.5f * r[mlp.bias_offset(l) + size_t(j)];
  }
}

}  // namespace efo
