// Monotone rational-quadratic (RQ) splines (Durkan et al. 2019, "Neural Spline Flows"): the
// scalar math of the nsf-coupling and nsf-ar layers. Like flow_math.hpp these small functions
// compile for the host and, under nvcc, for the device, so the CUDA kernels compute exactly what
// the CPU reference computes. Everything works on registers: no per-call arrays, the bin search
// recomputes the knots as running sums.
//
// One dimension's spline is given by P = 3K - 1 unnormalized conditioner outputs
//   p = [uw (K) | uh (K) | ud (K - 1)]
// and a tail bound B:
//   bin widths   w_i = 2B (m + (1 - m K) softmax(uw)_i)        (m = kSplineMinBin)
//   bin heights  h_i = 2B (m + (1 - m K) softmax(uh)_i)
//   knots        x_0 = -B, x_j = x_0 + sum_{i<j} w_i, x_K = B (and likewise y_j)
//   derivatives  d_0 = d_K = 1 (matching the identity tails),
//                d_j = m_d + softplus(ud_{j-1} + c0) for 0 < j < K, where
//                c0 = log(e^{1 - m_d} - 1), so ud = 0 gives d_j = 1 exactly and all-zero
//                outputs (a fresh conditioner) give the identity map.
// Inside bin k (x_k <= x < x_{k+1}, the last bin closed): xi = (x - x_k)/w_k, s = h_k/w_k,
//   y = y_k + h_k (s xi^2 + d_k xi (1 - xi)) / (s + (d_k + d_{k+1} - 2s) xi (1 - xi))
//   dy/dx = s^2 (d_{k+1} xi^2 + 2 s xi (1 - xi) + d_k (1 - xi)^2) / den^2.
// Outside [-B, B] the map is the identity (log-derivative 0).
#pragma once
#include "flow_math.hpp"

namespace ef::math {

using std::log1p;

constexpr double kSplineMinBin = 1e-3;          // minimum bin width and height, as a fraction
constexpr double kSplineMinDerivative = 1e-3;   // minimum interior knot derivative
constexpr double kSplineDerivShift = 0.539742417236952;  // log(e^{1 - kSplineMinDerivative} - 1)
constexpr int kSplineMaxBins = 64;

// Conditioner outputs per transformed dimension.
EF_HD int spline_num_params(int K) { return 3 * K - 1; }

template <class T>
EF_HD T softplus(T v) {
  return (v > T(0) ? v : T(0)) + log1p(exp(-(v > T(0) ? v : -v)));
}
template <class T>
EF_HD T sigmoid(T v) {
  if (v >= T(0)) return T(1) / (T(1) + exp(-v));
  const T e = exp(v);
  return e / (T(1) + e);
}

// Softmax statistics of one axis (K unnormalized widths or heights).
template <class T>
struct RqAxis {
  T mx, inv_sum, scale;  // max, 1/sum exp(u - max), 1 - m K
};
template <class T>
EF_HD RqAxis<T> rq_axis(const T* u, int K) {
  T mx = u[0];
  for (int i = 1; i < K; ++i) mx = u[i] > mx ? u[i] : mx;
  T sum = T(0);
  for (int i = 0; i < K; ++i) sum += exp(u[i] - mx);
  return {mx, T(1) / sum, T(1) - T(kSplineMinBin) * T(K)};
}
template <class T>
EF_HD T rq_softmax(const T* u, const RqAxis<T>& a, int i) {
  return exp(u[i] - a.mx) * a.inv_sum;
}
// Fraction of [-B, B] that bin i covers.
template <class T>
EF_HD T rq_frac(const T* u, const RqAxis<T>& a, int i) {
  return T(kSplineMinBin) + a.scale * rq_softmax(u, a, i);
}

// The bin of v in [-B, B] and its knots [lo, hi]: knot j = 2B sum_{i<j} frac_i - B for
// 0 < j < K, knot 0 = -B, knot K = B. A point exactly on knot j belongs to bin j (K-1 for B).
template <class T>
EF_HD int rq_find_bin(const T* u, const RqAxis<T>& a, int K, T B, T v, T& lo, T& hi) {
  T acc = T(0);
  lo = -B;
  hi = B;
  for (int i = 0; i < K - 1; ++i) {
    acc += rq_frac(u, a, i);
    const T knot = T(2) * B * acc - B;
    if (v < knot) {
      hi = knot;
      return i;
    }
    lo = knot;
  }
  return K - 1;
}
// The knots of bin k, computed exactly as rq_find_bin computes them.
template <class T>
EF_HD void rq_bin_knots(const T* u, const RqAxis<T>& a, int K, T B, int k, T& lo, T& hi) {
  T acc = T(0);
  lo = -B;
  hi = B;
  for (int i = 0; i < K - 1; ++i) {
    acc += rq_frac(u, a, i);
    const T knot = T(2) * B * acc - B;
    if (i == k) {
      hi = knot;
      return;
    }
    lo = knot;
  }
}

// Derivative at knot j in [0, K] (ud holds the K - 1 interior ones).
template <class T>
EF_HD T rq_knot_deriv(const T* ud, int K, int j) {
  if (j <= 0 || j >= K) return T(1);
  return T(kSplineMinDerivative) + softplus(ud[j - 1] + T(kSplineDerivShift));
}

// Everything about the bin a point falls in.
template <class T>
struct RqBin {
  int k;
  T xk, wk, yk, hk, dk, dk1, s;
};
template <class T>
EF_HD RqBin<T> rq_bin_of_x(const T* p, int K, T B, T x) {
  const T* uw = p;
  const T* uh = p + K;
  const T* ud = p + 2 * K;
  RqBin<T> b;
  T xk1, yk1;
  b.k = rq_find_bin(uw, rq_axis(uw, K), K, B, x, b.xk, xk1);
  rq_bin_knots(uh, rq_axis(uh, K), K, B, b.k, b.yk, yk1);
  b.wk = xk1 - b.xk;
  b.hk = yk1 - b.yk;
  b.s = b.hk / b.wk;
  b.dk = rq_knot_deriv(ud, K, b.k);
  b.dk1 = rq_knot_deriv(ud, K, b.k + 1);
  return b;
}

template <class T>
EF_HD bool rq_in_tails(T v, T B) {
  return !(v >= -B && v <= B);
}

// y = f(x) in the density direction; *logabsdet = log|dy/dx|.
template <class T>
EF_HD T rq_forward(T x, const T* p, int K, T B, T* logabsdet) {
  if (rq_in_tails(x, B)) {
    *logabsdet = T(0);
    return x;
  }
  const RqBin<T> b = rq_bin_of_x(p, K, B, x);
  const T xi = (x - b.xk) / b.wk;
  const T q = xi * (T(1) - xi);
  const T den = b.s + (b.dk + b.dk1 - T(2) * b.s) * q;
  const T M = b.dk1 * xi * xi + T(2) * b.s * q + b.dk * (T(1) - xi) * (T(1) - xi);
  *logabsdet = T(2) * log(b.s) + log(M) - T(2) * log(den);
  return b.yk + b.hk * (b.s * xi * xi + b.dk * q) / den;
}

// x = f^{-1}(y): in bin k (found on the height knots) xi is the root in [0, 1] of
//   a xi^2 + b xi + c = 0,  a = h (s - d_k) + dy t,  b = h d_k - dy t,  c = -s dy,
// with dy = y - y_k and t = d_k + d_{k+1} - 2s, taken in the stable form
// xi = 2c / (-b - sqrt(b^2 - 4ac)) (no cancellation: c <= 0 and a + b = h s > 0).
template <class T>
EF_HD T rq_inverse(T y, const T* p, int K, T B) {
  if (rq_in_tails(y, B)) return y;
  const T* uw = p;
  const T* uh = p + K;
  const T* ud = p + 2 * K;
  T yk, yk1, xk, xk1;
  const int k = rq_find_bin(uh, rq_axis(uh, K), K, B, y, yk, yk1);
  rq_bin_knots(uw, rq_axis(uw, K), K, B, k, xk, xk1);
  const T wk = xk1 - xk, hk = yk1 - yk, s = hk / wk;
  const T dk = rq_knot_deriv(ud, K, k), dk1 = rq_knot_deriv(ud, K, k + 1);
  const T dy = y - yk, t = dk + dk1 - T(2) * s;
  const T a = hk * (s - dk) + dy * t;
  const T bb = hk * dk - dy * t;
  const T c = -s * dy;
  T disc = bb * bb - T(4) * a * c;
  disc = disc > T(0) ? disc : T(0);
  T xi = T(2) * c / (-bb - sqrt(disc));
  xi = xi < T(0) ? T(0) : (xi > T(1) ? T(1) : xi);
  return xk + xi * wk;
}

// Gradient of a weighted sum of the knots lo = knot k and hi = knot k+1 of one axis,
// g_lo * lo + g_hi * hi, with respect to that axis' unnormalized sizes u (K, overwritten).
template <class T>
EF_HD void rq_knot_grad(const T* u, const RqAxis<T>& a, int K, T B, int k, T g_lo, T g_hi,
                        T* gu) {
  // knot j (0 < j < K) = 2B sum_{i<j} frac_i - B: d knot_j / d frac_i = 2B [i < j].
  const bool lo_var = k >= 1, hi_var = k + 1 <= K - 1;
  T dot = T(0);
  for (int i = 0; i < K; ++i) {
    const T gf = T(2) * B * ((lo_var && i < k ? g_lo : T(0)) + (hi_var && i < k + 1 ? g_hi : T(0)));
    const T gs = a.scale * gf;  // d frac_i / d softmax_i = 1 - m K
    gu[i] = gs;
    dot += rq_softmax(u, a, i) * gs;
  }
  for (int i = 0; i < K; ++i) gu[i] = rq_softmax(u, a, i) * (gu[i] - dot);  // softmax VJP
}

// Backward of y = f(x) and L = log|dy/dx| at x: given gy = dLoss/dy and gl = dLoss/dL, writes
// gp (3K - 1, overwritten) = dLoss/dp and returns dLoss/dx.
template <class T>
EF_HD T rq_backward(T x, const T* p, int K, T B, T gy, T gl, T* gp) {
  const int P = 3 * K - 1;
  for (int i = 0; i < P; ++i) gp[i] = T(0);
  if (rq_in_tails(x, B)) return gy;
  const RqBin<T> b = rq_bin_of_x(p, K, B, x);
  const T s = b.s, hk = b.hk, wk = b.wk, dk = b.dk, dk1 = b.dk1;
  const T xi = (x - b.xk) / wk;
  const T omx = T(1) - xi, q = xi * omx, dq = T(1) - T(2) * xi;  // dq/dxi
  const T t = dk + dk1 - T(2) * s;
  const T den = s + t * q;
  const T numh = s * xi * xi + dk * q;  // y = y_k + h_k numh / den
  const T M = dk1 * xi * xi + T(2) * s * q + dk * omx * omx;
  const T r = hk * numh / (den * den);
  // Partials of y and of L = 2 log s + log M - 2 log den.
  const T dy_dxi = hk * (T(2) * s * xi + dk * dq) / den - r * t * dq;
  const T dy_ds = hk * xi * xi / den - r * (T(1) - T(2) * q);
  const T dy_ddk = (hk / den - r) * q;
  const T dy_ddk1 = -r * q;
  const T dy_dhk = numh / den;
  const T dL_dxi = (T(2) * dk1 * xi + T(2) * s * dq - T(2) * dk * omx) / M - T(2) * t * dq / den;
  const T dL_ds = T(2) / s + T(2) * q / M - T(2) * (T(1) - T(2) * q) / den;
  const T dL_ddk = omx * omx / M - T(2) * q / den;
  const T dL_ddk1 = xi * xi / M - T(2) * q / den;
  const T G_xi = gy * dy_dxi + gl * dL_dxi;
  const T G_s = gy * dy_ds + gl * dL_ds;
  const T G_dk = gy * dy_ddk + gl * dL_ddk;
  const T G_dk1 = gy * dy_ddk1 + gl * dL_ddk1;
  // s = h_k / w_k, xi = (x - x_k) / w_k.
  const T G_hk = gy * dy_dhk + G_s / wk;
  const T G_wk = -G_s * s / wk - G_xi * xi / wk;
  const T G_xk = -G_xi / wk;
  const T G_yk = gy;
  // w_k = x_{k+1} - x_k, h_k = y_{k+1} - y_k.
  const T* uw = p;
  const T* uh = p + K;
  const T* ud = p + 2 * K;
  rq_knot_grad(uw, rq_axis(uw, K), K, B, b.k, G_xk - G_wk, G_wk, gp);
  rq_knot_grad(uh, rq_axis(uh, K), K, B, b.k, G_yk - G_hk, G_hk, gp + K);
  if (b.k >= 1) gp[2 * K + b.k - 1] = G_dk * sigmoid(ud[b.k - 1] + T(kSplineDerivShift));
  if (b.k + 1 <= K - 1) gp[2 * K + b.k] = G_dk1 * sigmoid(ud[b.k] + T(kSplineDerivShift));
  return G_xi / wk;
}

}  // namespace ef::math
