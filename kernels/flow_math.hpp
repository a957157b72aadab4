// Scalar math shared by every backend. These small functions compile for the host and, under
// nvcc, for the device, so the CUDA kernels compute exactly what the CPU reference computes and
// the math is tested on machines without a GPU.
#pragma once
#include <cmath>
#include <cstdint>

#include "fast_math.hpp"

#if defined(__CUDACC__)
#define EF_HD __host__ __device__ __forceinline__
#else
#define EF_HD inline
#endif

// OpenMP SIMD hints for the host's elementwise loops (no-ops in device code and without
// OpenMP): `reduction` lets the compiler reorder a float sum across vector lanes, the one thing
// that kept those loops scalar. Sums in such loops may differ from a sequential sum by rounding.
#define EF_PRAGMA(x) _Pragma(#x)
#if defined(_OPENMP) && !defined(__CUDA_ARCH__)
#define EF_SIMD EF_PRAGMA(omp simd)
#define EF_SIMD_REDUCTION(r) EF_PRAGMA(omp simd reduction(r))
#else
#define EF_SIMD
#define EF_SIMD_REDUCTION(r)
#endif

namespace ef::math {

// exp, log and tanh by argument type: double -> the exact library functions (the precision the
// finite-difference tests check); float -> on the host the branch-free polynomials of
// fast_math.hpp, which vectorize in the layers' loops (glibc's scalar expf/logf/tanhf were a
// fifth of a MAF training step and a third of a spline layer), on the device CUDA's expf/logf/
// tanhf. Unqualified calls on a float must not reach the C double functions (15% of a step).
using std::cos;
using std::sqrt;
EF_HD double exp(double x) { return std::exp(x); }
EF_HD double log(double x) { return std::log(x); }
EF_HD double tanh(double x) { return std::tanh(x); }
EF_HD float exp(float x) {
#if defined(__CUDA_ARCH__)
  return ::expf(x);
#else
  return fast::expf(x);
#endif
}
EF_HD float log(float x) {
#if defined(__CUDA_ARCH__)
  return ::logf(x);
#else
  return fast::logf(x);
#endif
}
EF_HD float tanh(float x) {
#if defined(__CUDA_ARCH__)
  return ::tanhf(x);
#else
  return fast::tanhf(x);
#endif
}

// Soft clamp of a log-scale: alpha = c * tanh(a / c). Keeps exp(alpha) in [e^-c, e^c] while
// staying smooth, so early training cannot blow a scale up. c <= 0 disables the clamp.
template <class T>
EF_HD T soft_clamp(T a, T c) {
  return c > T(0) ? c * tanh(a / c) : a;
}
// d soft_clamp / d a = 1 - tanh(a/c)^2.
template <class T>
EF_HD T soft_clamp_grad(T a, T c) {
  if (c <= T(0)) return T(1);
  T t = tanh(a / c);
  return T(1) - t * t;
}

// MAF affine step, density direction: z = (x - mu) * exp(-alpha); log|dz/dx| = -alpha.
template <class T>
EF_HD T maf_forward(T x, T mu, T alpha) {
  return (x - mu) * exp(-alpha);
}
template <class T>
EF_HD T maf_inverse(T z, T mu, T alpha) {
  return z * exp(alpha) + mu;
}

// Coupling step, density direction: z = x * exp(s) + t; log|dz/dx| = s.
template <class T>
EF_HD T coupling_forward(T x, T s, T t) {
  return x * exp(s) + t;
}
template <class T>
EF_HD T coupling_inverse(T z, T s, T t) {
  return (z - t) * exp(-s);
}

// log N(z; 0, 1) of one coordinate.
template <class T>
EF_HD T log_normal(T z) {
  return T(-0.5) * z * z - T(0.91893853320467274178);  // 0.5*log(2*pi)
}

// One Adam/AdamW update of one parameter. Bias corrections are precomputed per step
// (bc1 = 1 - beta1^t, bc2 = 1 - beta2^t) so the step reads them from memory.
template <class T>
EF_HD void adam_update(T& p, T g, T& m, T& v, T lr, T beta1, T beta2, T eps, T weight_decay,
                       T bc1, T bc2) {
  m = beta1 * m + (T(1) - beta1) * g;
  v = beta2 * v + (T(1) - beta2) * g * g;
  T mhat = m / bc1;
  T vhat = v / bc2;
  p -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * p);
}

// Counter-based random numbers (SplitMix64 finalizer of seed and counter): the value for
// (seed, stream, index) does not depend on thread count or launch order, so CPU and GPU draw the
// same numbers and sampling is reproducible.
EF_HD uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
EF_HD uint64_t rand_u64(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(seed * 0x9e3779b97f4a7c15ULL + stream) ^ (index * 0xd1b54a32d192ed03ULL));
}
// Uniform in the open interval (0, 1), 53 bits.
EF_HD double rand_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return (double((rand_u64(seed, stream, index) >> 11)) + 0.5) * (1.0 / 9007199254740992.0);
}
// Standard normal by Box-Muller from two counter draws.
EF_HD double rand_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  double u1 = rand_uniform(seed, stream, 2 * index);
  double u2 = rand_uniform(seed, stream, 2 * index + 1);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

}  // namespace ef::math
