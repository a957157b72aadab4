// Monotone rational-quadratic (RQ) splines (Durkan et al. 2019, "Neural Spline Flows"): the
// scalar math of the nsf-coupling and nsf-ar layers. Like flow_math.hpp these small functions
// compile for the host and, under nvcc, for the device, so the CUDA kernels compute exactly what
// the CPU reference computes. Each evaluation computes the K-way softmax of an axis once into a
// small local array (kSplineMaxBins floats; local memory on the device), so a forward or inverse
// costs 2K + 2 exps and a backward 2K + 2, or 2 after rq_forward_cache; the
// bin search and the knots are running sums over the cached softmax, bit for bit the knots of
// rq_bin_knots (tested on the host).
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

// log(1 + e) for e >= 0, by Kahan's trick (log(u) e / (u - 1) with u = fl(1 + e) corrects the
// rounding of 1 + e): one log. In float over (0, 1] it is within 2.75 ulp (glibc's log1pf: 1.3)
// and cheaper: glibc's log1pf took ~15 ns of a ~98 ns K = 8 spline evaluation.
template <class T>
EF_HD T log1p_pos(T e) {
  const T u = T(1) + e;
  return u == T(1) ? e : log(u) * (e / (u - T(1)));
}

constexpr double kSplineMinBin = 1e-3;          // minimum bin width and height, as a fraction
constexpr double kSplineMinDerivative = 1e-3;   // minimum interior knot derivative
constexpr double kSplineDerivShift = 0.539742417236952;  // log(e^{1 - kSplineMinDerivative} - 1)
constexpr int kSplineMaxBins = 64;

// Conditioner outputs per transformed dimension.
EF_HD int spline_num_params(int K) { return 3 * K - 1; }

template <class T>
EF_HD T softplus(T v) {
  return (v > T(0) ? v : T(0)) + log1p_pos(exp(-(v > T(0) ? v : -v)));
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

// The knots of bin k (knot j = 2B sum_{i<j} frac_i - B for 0 < j < K, knot 0 = -B, knot K = B),
// computing the softmax terms one at a time (no arrays). rq_knots_at computes the same knots,
// bit for bit, from a cached softmax.
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

// ---- The evaluation path: each axis' softmax once per element, cached in a small array ----

// sm (K) = softmax(u), computed exactly as rq_axis/rq_softmax compute it (K exps).
template <class T>
EF_HD void rq_softmax_axis(const T* u, int K, T* sm) {
  T mx = u[0];
  EF_SIMD_REDUCTION(max : mx)
  for (int i = 1; i < K; ++i) mx = u[i] > mx ? u[i] : mx;
  EF_SIMD
  for (int i = 0; i < K; ++i) sm[i] = exp(u[i] - mx);
  // A sequential sum (not a simd reduction): its order must not depend on whether a call site
  // gets vectorized, which varies with the compiler flags and the inlining context; with a lane
  // reduction, copies of this function computed different bits, and a thread's result depended
  // on which copy its call site used (the spline-AR inverse at 1 vs 2 threads). rq_axis sums in
  // this same order.
  T sum = T(0);
  for (int i = 0; i < K; ++i) sum += sm[i];
  const T inv_sum = T(1) / sum;
  EF_SIMD
  for (int i = 0; i < K; ++i) sm[i] *= inv_sum;
}

// The bin of v in [-B, B] and its knots [lo, hi], from the axis' softmax sm: the knots are the
// running sums of rq_bin_knots, bit for bit. A point exactly on knot j belongs to bin j (K-1
// for B).
template <class T>
EF_HD int rq_search(const T* sm, int K, T B, T v, T& lo, T& hi) {
  const T scale = T(1) - T(kSplineMinBin) * T(K);
  T acc = T(0);
  lo = -B;
  hi = B;
  for (int i = 0; i < K - 1; ++i) {
    acc += T(kSplineMinBin) + scale * sm[i];
    const T knot = T(2) * B * acc - B;
    if (v < knot) {
      hi = knot;
      return i;
    }
    lo = knot;
  }
  return K - 1;
}
// The knots of bin k from the axis' softmax sm (the same values rq_search gives).
template <class T>
EF_HD void rq_knots_at(const T* sm, int K, T B, int k, T& lo, T& hi) {
  const T scale = T(1) - T(kSplineMinBin) * T(K);
  T acc = T(0);
  lo = -B;
  hi = B;
  for (int i = 0; i < K - 1; ++i) {
    acc += T(kSplineMinBin) + scale * sm[i];
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
// The same derivative and, in *grad, d d_j / d ud_{j-1} = sigmoid(ud_{j-1} + c0) (0 for the
// fixed boundary derivatives): softplus and sigmoid share one exp, with the values of
// softplus() and sigmoid().
template <class T>
EF_HD T rq_knot_deriv_grad(const T* ud, int K, int j, T* grad) {
  if (j <= 0 || j >= K) {
    *grad = T(0);
    return T(1);
  }
  const T v = ud[j - 1] + T(kSplineDerivShift);
  const T e = exp(-(v > T(0) ? v : -v));
  *grad = v >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
  return T(kSplineMinDerivative) + ((v > T(0) ? v : T(0)) + log1p_pos(e));
}

template <class T>
EF_HD bool rq_in_tails(T v, T B) {
  return !(v >= -B && v <= B);
}

// y = f(x) for x in [-B, B], given the width and height softmax sw, sh (K each) of p.
template <class T>
EF_HD T rq_forward_sm(T x, const T* sw, const T* sh, const T* ud, int K, T B, T* logabsdet) {
  T xk, xk1, yk, yk1;
  const int k = rq_search(sw, K, B, x, xk, xk1);
  rq_knots_at(sh, K, B, k, yk, yk1);
  const T wk = xk1 - xk, hk = yk1 - yk, s = hk / wk;
  const T dk = rq_knot_deriv(ud, K, k), dk1 = rq_knot_deriv(ud, K, k + 1);
  const T xi = (x - xk) / wk;
  const T q = xi * (T(1) - xi);
  const T den = s + (dk + dk1 - T(2) * s) * q;
  const T M = dk1 * xi * xi + T(2) * s * q + dk * (T(1) - xi) * (T(1) - xi);
  // log(s^2 M / den^2), as 2 log(s / den) + log M: one log fewer, and s / den cannot overflow.
  *logabsdet = T(2) * log(s / den) + log(M);
  return yk + hk * (s * xi * xi + dk * q) / den;
}

// y = f(x) in the density direction; *logabsdet = log|dy/dx|. 2K + 2 exps, 4 logs.
template <class T>
EF_HD T rq_forward(T x, const T* p, int K, T B, T* logabsdet) {
  if (rq_in_tails(x, B)) {
    *logabsdet = T(0);
    return x;
  }
  T sw[kSplineMaxBins], sh[kSplineMaxBins];
  rq_softmax_axis(p, K, sw);
  rq_softmax_axis(p + K, K, sh);
  return rq_forward_sm(x, sw, sh, p + 2 * K, K, B, logabsdet);
}

// rq_forward that also leaves the softmax in p for rq_backward_cached: inside [-B, B],
// p[0, 2K) = [uw | uh] is overwritten with [softmax(uw) | softmax(uh)] (ud stays); in the tails
// p is left alone (the backward there needs no parameters).
template <class T>
EF_HD T rq_forward_cache(T x, T* p, int K, T B, T* logabsdet) {
  if (rq_in_tails(x, B)) {
    *logabsdet = T(0);
    return x;
  }
  rq_softmax_axis(p, K, p);  // in place: element i is read before it is written
  rq_softmax_axis(p + K, K, p + K);
  return rq_forward_sm(x, p, p + K, p + 2 * K, K, B, logabsdet);
}

// x = f^{-1}(y): in bin k (found on the height knots) xi is the root in [0, 1] of
//   a xi^2 + b xi + c = 0,  a = h (s - d_k) + dy t,  b = h d_k - dy t,  c = -s dy,
// with dy = y - y_k and t = d_k + d_{k+1} - 2s, taken in the stable form
// xi = 2c / (-b - sqrt(b^2 - 4ac)) (no cancellation: c <= 0 and a + b = h s > 0).
template <class T>
EF_HD T rq_inverse(T y, const T* p, int K, T B) {
  if (rq_in_tails(y, B)) return y;
  const T* ud = p + 2 * K;
  T sm[kSplineMaxBins];
  T yk, yk1, xk, xk1;
  rq_softmax_axis(p + K, K, sm);
  const int k = rq_search(sm, K, B, y, yk, yk1);
  rq_softmax_axis(p, K, sm);
  rq_knots_at(sm, K, B, k, xk, xk1);
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
// g_lo * lo + g_hi * hi, with respect to that axis' unnormalized sizes (gu, K, overwritten),
// given the axis' softmax sm. No exps: knot j (0 < j < K) = 2B sum_{i<j} frac_i - B, so
// d knot_j / d frac_i = 2B [i < j] and d frac_i / d softmax_i = 1 - m K; then the softmax VJP.
template <class T>
EF_HD void rq_knot_vjp(const T* sm, int K, T B, int k, T g_lo, T g_hi, T* gu) {
  const T scale = T(1) - T(kSplineMinBin) * T(K);
  const T glo = k >= 1 ? g_lo : T(0), ghi = k + 1 <= K - 1 ? g_hi : T(0);
  const T c_below = scale * (T(2) * B * (glo + ghi));  // i < k
  const T c_at = scale * (T(2) * B * ghi);             // i == k; 0 for i > k
  T dot = T(0);
  for (int i = 0; i < K; ++i) dot += sm[i] * (i < k ? c_below : (i == k ? c_at : T(0)));
  for (int i = 0; i < K; ++i) gu[i] = sm[i] * ((i < k ? c_below : (i == k ? c_at : T(0))) - dot);
}

// Backward of rq_forward_sm at x in [-B, B] (sw, sh: the softmax of the widths and heights;
// ud: the K - 1 raw interior derivatives): given gy = dLoss/dy and gl = dLoss/dL, writes
// gp (3K - 1, overwritten) = dLoss/dp and returns dLoss/dx. 2 exps, 2 logs.
template <class T>
EF_HD T rq_backward_sm(T x, const T* sw, const T* sh, const T* ud, int K, T B, T gy, T gl,
                       T* gp) {
  T xk, xk1, yk, yk1;
  const int k = rq_search(sw, K, B, x, xk, xk1);
  rq_knots_at(sh, K, B, k, yk, yk1);
  const T wk = xk1 - xk, hk = yk1 - yk, s = hk / wk;
  T sig_k, sig_k1;
  const T dk = rq_knot_deriv_grad(ud, K, k, &sig_k);
  const T dk1 = rq_knot_deriv_grad(ud, K, k + 1, &sig_k1);
  const T inv_wk = T(1) / wk;
  const T xi = (x - xk) * inv_wk;
  const T omx = T(1) - xi, q = xi * omx, dq = T(1) - T(2) * xi;  // dq/dxi
  const T t = dk + dk1 - T(2) * s;
  const T den = s + t * q;
  const T inv_den = T(1) / den;
  const T numh = s * xi * xi + dk * q;  // y = y_k + h_k numh / den
  const T M = dk1 * xi * xi + T(2) * s * q + dk * omx * omx;
  const T inv_M = T(1) / M;
  const T r = hk * numh * inv_den * inv_den;
  // Partials of y and of L = 2 log s + log M - 2 log den.
  const T dy_dxi = hk * (T(2) * s * xi + dk * dq) * inv_den - r * t * dq;
  const T dy_ds = hk * xi * xi * inv_den - r * (T(1) - T(2) * q);
  const T dy_ddk = (hk * inv_den - r) * q;
  const T dy_ddk1 = -r * q;
  const T dy_dhk = numh * inv_den;
  const T dL_dxi =
      (T(2) * dk1 * xi + T(2) * s * dq - T(2) * dk * omx) * inv_M - T(2) * t * dq * inv_den;
  const T dL_ds = T(2) / s + T(2) * q * inv_M - T(2) * (T(1) - T(2) * q) * inv_den;
  const T dL_ddk = omx * omx * inv_M - T(2) * q * inv_den;
  const T dL_ddk1 = xi * xi * inv_M - T(2) * q * inv_den;
  const T G_xi = gy * dy_dxi + gl * dL_dxi;
  const T G_s = gy * dy_ds + gl * dL_ds;
  const T G_dk = gy * dy_ddk + gl * dL_ddk;
  const T G_dk1 = gy * dy_ddk1 + gl * dL_ddk1;
  // s = h_k / w_k, xi = (x - x_k) / w_k.
  const T G_hk = gy * dy_dhk + G_s * inv_wk;
  const T G_wk = -(G_s * s + G_xi * xi) * inv_wk;
  const T G_xk = -G_xi * inv_wk;
  const T G_yk = gy;
  // w_k = x_{k+1} - x_k, h_k = y_{k+1} - y_k.
  rq_knot_vjp(sw, K, B, k, G_xk - G_wk, G_wk, gp);
  rq_knot_vjp(sh, K, B, k, G_yk - G_hk, G_hk, gp + K);
  T* gd = gp + 2 * K;
  for (int i = 0; i < K - 1; ++i) gd[i] = T(0);
  if (k >= 1) gd[k - 1] = G_dk * sig_k;
  if (k + 1 <= K - 1) gd[k] = G_dk1 * sig_k1;
  return G_xi * inv_wk;
}

// Backward of y = f(x) and L = log|dy/dx| at x: given gy = dLoss/dy and gl = dLoss/dL, writes
// gp (3K - 1, overwritten) = dLoss/dp and returns dLoss/dx. 2K + 2 exps, 2 logs.
template <class T>
EF_HD T rq_backward(T x, const T* p, int K, T B, T gy, T gl, T* gp) {
  if (rq_in_tails(x, B)) {
    for (int i = 0; i < 3 * K - 1; ++i) gp[i] = T(0);
    return gy;
  }
  T sw[kSplineMaxBins], sh[kSplineMaxBins];
  rq_softmax_axis(p, K, sw);
  rq_softmax_axis(p + K, K, sh);
  return rq_backward_sm(x, sw, sh, p + 2 * K, K, B, gy, gl, gp);
}

// rq_backward after rq_forward_cache(x, p): pc is that p, with the softmax in [0, 2K). No exps
// but the 2 of the knot derivatives.
template <class T>
EF_HD T rq_backward_cached(T x, const T* pc, int K, T B, T gy, T gl, T* gp) {
  if (rq_in_tails(x, B)) {
    for (int i = 0; i < 3 * K - 1; ++i) gp[i] = T(0);
    return gy;
  }
  return rq_backward_sm(x, pc, pc + K, pc + 2 * K, K, B, gy, gl, gp);
}

}  // namespace ef::math

namespace ef {
// The spline layers' row loops go parallel from this many (row, dimension) elements on: a
// spline element costs ~2K transcendental calls, some 100x a flow_math element, so the
// parallel region pays off far below kOmpMinRows rows (parallel.hpp).
constexpr long kSplineOmpMinElems = 2048;
}  // namespace ef
