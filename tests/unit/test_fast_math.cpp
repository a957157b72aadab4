// The float path's exp/log/tanh (kernels/fast_math.hpp) against the double library functions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "flow_math.hpp"

namespace {

// Distance in float ulps between a float result and the exactly rounded double value.
double ulps(float got, double want) {
  const float w = float(want);
  const double ulp = std::nextafter(std::fabs(w), std::numeric_limits<float>::infinity()) - std::fabs(w);
  return std::fabs(double(got) - want) / ulp;
}

}  // namespace

TEST_CASE("fast float exp: within 1.5 ulp on [-87, 88], specials") {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.000731) {
    const float xf = float(x);
    worst = std::max(worst, ulps(ef::math::fast::expf(xf), std::exp(double(xf))));
  }
  CHECK(worst <= 1.5);  // measured 1.16
  CHECK(ef::math::fast::expf(0.0f) == 1.0f);
  CHECK(std::isnan(ef::math::fast::expf(NAN)));
  CHECK(ef::math::fast::expf(-200.0f) < 1e-37f);
  CHECK(ef::math::fast::expf(-200.0f) >= 0.0f);
  CHECK(std::isfinite(ef::math::fast::expf(1000.0f)));
  // The overload set: floats take the fast path, doubles the library.
  CHECK(ef::math::exp(1.0) == std::exp(1.0));
  CHECK(ef::math::exp(0.5f) == ef::math::fast::expf(0.5f));
}

TEST_CASE("fast float log: within 2 ulp on normals and denormals, specials") {
  double worst = 0;
  for (double e = -140; e <= 127; e += 0.00913) {
    const float xf = float(std::exp2(e));
    if (xf == 0.0f) continue;
    const double want = std::log(double(xf));
    if (std::fabs(want) < 1e-30) continue;
    worst = std::max(worst, ulps(ef::math::fast::logf(xf), want));
  }
  for (float x = 0.5f; x < 2.0f; x += 1.3e-4f)  // around 1, where log is small
    if (x != 1.0f) worst = std::max(worst, ulps(ef::math::fast::logf(x), std::log(double(x))));
  CHECK(worst <= 2.0);  // measured 1.42
  CHECK(ef::math::fast::logf(1.0f) == 0.0f);
  CHECK(ef::math::fast::logf(0.0f) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(ef::math::fast::logf(-1.0f)));
  CHECK(std::isnan(ef::math::fast::logf(NAN)));
  CHECK(ef::math::fast::logf(INFINITY) == INFINITY);
}

TEST_CASE("fast float tanh: 1.5e-7 absolute, 3 ulp relative") {
  double worst_abs = 0, worst_ulp = 0;
  for (double x = -20; x <= 20; x += 0.000917) {
    const float xf = float(x);
    const double want = std::tanh(double(xf));
    const float got = ef::math::fast::tanhf(xf);
    worst_abs = std::max(worst_abs, std::fabs(double(got) - want));
    if (std::fabs(want) > 1e-30) worst_ulp = std::max(worst_ulp, ulps(got, want));
  }
  CHECK(worst_abs <= 1.5e-7);  // measured 7.2e-8
  CHECK(worst_ulp <= 3.0);     // measured 2.14
  CHECK(ef::math::fast::tanhf(0.0f) == 0.0f);
  CHECK(ef::math::fast::tanhf(1e-20f) == 1e-20f);
  CHECK(ef::math::fast::tanhf(30.0f) == 1.0f);
  CHECK(ef::math::fast::tanhf(-30.0f) == -1.0f);
}
