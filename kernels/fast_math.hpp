// Branch-free float exp, log and tanh for the CPU reference's float path. glibc's expf/logf/tanhf
// are scalar calls (1/5 of a MAF training step and 1/3 of a spline layer went to them); these
// inline polynomial versions vectorize inside the layers' loops. Accuracy (measured by
// tests/unit/test_fast_math.cpp against the double functions): exp 1.16 ulp on [-87, 88]
// (inputs are clamped to that range, so exp(-100) gives ~1e-38 instead of a denormal; NaN stays
// NaN); log 1.42 ulp over normal and denormal inputs (0 -> -inf, negative or NaN -> NaN); tanh
// 2.14 ulp, 7.2e-8 absolute. Double arguments and device code use the exact library
// functions: double is the precision the finite-difference tests check.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ef::math::fast {

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// e^x = 2^n e^r, n = round(x / ln 2), |r| <= ln(2)/2, e^r by a degree-7 Taylor polynomial
// (truncation error 5e-9 relative at |r| = 0.347).
inline float expf(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.7f ? 88.7f : x;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the mantissa
  const float t = x * 1.44269504088896341f + shifter;
  const float n = t - shifter;
  const int32_t ni = int32_t(float_to_bits(t)) - int32_t(float_to_bits(shifter));
  float r = x - n * 0.693145751953125f;  // ln 2, high part (exact in float for |n| < 2^9)
  r = r - n * 1.428606765330187e-06f;     // low part
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n as a float (n in [-126, 128]; 2^128 would overflow, so split it in two halves).
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  return p * bits_to_float(uint32_t(n1 + 127) << 23) * bits_to_float(uint32_t(n2 + 127) << 23);
}

// log x = e ln 2 + log m with x = 2^e m, m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| <= 0.1716, by the odd series 2(s + s^3/3 + ... + s^11/11).
inline float logf(float x) {
  // Scale denormals up by 2^23 so the exponent field is meaningful.
  const bool den = x < 1.17549435e-38f;
  const uint32_t v = float_to_bits(den ? x * 8388608.0f : x);
  int32_t e = int32_t((v >> 23) & 0xff) - 127 - (den ? 23 : 0);
  float m = bits_to_float((v & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  const bool hi = m > 1.41421356f;
  m = hi ? m * 0.5f : m;
  e = hi ? e + 1 : e;
  const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  float p = 1.0f / 11.0f;
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  const float lm = 2.0f * s + 2.0f * s * s2 * p;
  const float fe = float(e);
  float r = fe * 0.693145751953125f + (fe * 1.428606765330187e-06f + lm);
  // Special cases last, as selects (the loop still vectorizes).
  r = x == INFINITY ? x : r;
  r = x > 0.0f ? r : NAN;  // negative or NaN
  return x == 0.0f ? -INFINITY : r;
}

// tanh x = sign(x) (1 - 2 / (e^{2|x|} + 1)); below |x| = 0.3 the odd Taylor series (to x^11),
// where the subtraction would lose bits.
inline float tanhf(float x) {
  const float a = x < 0.0f ? -x : x;
  const float e = fast::expf(2.0f * a);
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0.0f ? -big : big;
  const float x2 = x * x;
  float p = -1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float small = x + x * x2 * p;
  return a < 0.3f ? small : big;
}

}  // namespace ef::math::fast
