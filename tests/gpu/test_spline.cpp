// Rational-quadratic spline kernels (kernels/spline.cu) against the CPU spline math
// (kernels/spline_math.hpp, float) on random inputs: forward (z, log-det), backward (dh, dx),
// the one-pass coupling inverse and the autoregressive inverse step, in the compact layout (with
// and without a coupling's transformed-dims list), x read from a strided packed input, points in the tails and exactly on knots.
#include <cmath>
#include <vector>

#include "gpu_util.hpp"
#include "kernels/spline.cuh"
#include "spline_math.hpp"

using efg::DeviceBuffer;
namespace k = ef::kernels;
namespace m = ef::math;

namespace {

struct SCase {
  int B, D, K, ldx;
  float bound;
  bool masked;
};
const SCase kSplineCases[] = {{1000, 5, 8, 5, 3.f, true},
                              {777, 3, 2, 3, 1.5f, false},
                              {513, 7, 16, 9, 2.5f, false},
                              {300, 4, 64, 6, 4.f, true}};

// The knots (K + 1) of one axis of a parameter block, as the CPU computes them.
std::vector<float> axis_knots(const float* u, int K, float B) {
  const auto a = m::rq_axis(u, K);
  std::vector<float> v;
  for (int kk = 0; kk < K; ++kk) {
    float lo, hi;
    m::rq_bin_knots(u, a, K, B, kk, lo, hi);
    v.push_back(lo);
    if (kk == K - 1) v.push_back(hi);
  }
  return v;
}

}  // namespace

TEST_CASE("spline: forward, backward and inverse kernels match the CPU spline math") {
  efg::require_gpu();
  efg::GpuContext g;
  for (const SCase& cs : kSplineCases) {
    const uint64_t seed = efg::fresh_seed();
    CAPTURE(seed);
    CAPTURE(cs.B);
    CAPTURE(cs.D);
    CAPTURE(cs.K);
    CAPTURE(cs.masked);
    const int B = cs.B, D = cs.D, K = cs.K, P = m::spline_num_params(K), ldx = cs.ldx;
    const float bound = cs.bound;
    std::vector<int> mask(D, 0);
    if (cs.masked) {
      for (int i = 0; i < D; ++i) mask[i] = m::rand_uniform(seed, 9, i) < 0.5 ? 1 : 0;
      mask[0] = 1;
      mask[D - 1] = 0;
    }
    const std::vector<float> h = efg::randn(size_t(B) * D * P, seed + 1);
    // x: wide enough to reach the tails; a point within 1e-4 of a knot is moved off it (there the
    // bin, and so which parameters get gradient, may differ by one ulp between host and device).
    std::vector<float> x = efg::randn(size_t(B) * ldx, seed + 2, 0.8f * bound);
    int in_tails = 0;
    for (int r = 0; r < B; ++r)
      for (int i = 0; i < D; ++i) {
        float& v = x[size_t(r) * ldx + i];
        for (float kn : axis_knots(h.data() + (size_t(r) * D + i) * P, K, bound))
          if (std::fabs(v - kn) < 1e-4f) v = kn + 3e-4f;
        in_tails += std::fabs(v) > bound;
      }
    CHECK(in_tails > 0);
    const std::vector<float> logdet0 = efg::randn(size_t(B), seed + 3);
    const std::vector<float> dz = efg::randn(size_t(B) * D, seed + 4);
    const std::vector<float> dlogdet = efg::randn(size_t(B), seed + 5);

    // CPU reference, element by element in the layers' order.
    std::vector<float> z(size_t(B) * D), logdet = logdet0, dh(size_t(B) * D * P, 0.f),
        dx(size_t(B) * D), slope(size_t(B) * D);
    for (int r = 0; r < B; ++r) {
      float ld = 0.f;
      for (int i = 0; i < D; ++i) {
        const size_t e = size_t(r) * D + i;
        const float xi = x[size_t(r) * ldx + i];
        const float* p = h.data() + e * P;
        if (mask[i]) {
          z[e] = xi;
          dx[e] = dz[e];
          slope[e] = 1.f;
        } else {
          float l;
          z[e] = m::rq_forward(xi, p, K, bound, &l);
          ld += l;
          slope[e] = std::exp(l);
          dx[e] = m::rq_backward(xi, p, K, bound, dz[e], dlogdet[r], dh.data() + e * P);
        }
      }
      logdet[r] += ld;
    }

    // The kernels take the compact layout: parameters of the nt transformed dims only.
    std::vector<int> tr;
    for (int i = 0; i < D; ++i)
      if (!mask[i]) tr.push_back(i);
    const int nt = int(tr.size());
    std::vector<float> hc, dhc;
    for (int r = 0; r < B; ++r)
      for (int i : tr) {
        hc.insert(hc.end(), h.begin() + (size_t(r) * D + i) * P, h.begin() + (size_t(r) * D + i + 1) * P);
        dhc.insert(dhc.end(), dh.begin() + (size_t(r) * D + i) * P, dh.begin() + (size_t(r) * D + i + 1) * P);
      }
    DeviceBuffer<int> dtr(tr);
    const int* gtr = cs.masked ? dtr.get() : nullptr;  // null: every dim (autoregressive)
    DeviceBuffer<float> dx_in(x), dh_in(hc), dzo(size_t(B) * D), dlog(logdet0), ddz(dz),
        ddlog(dlogdet), ddh(size_t(B) * nt * P), ddx(size_t(B) * D);
    k::spline_forward_cuda(dx_in.get(), ldx, dh_in.get(), gtr, nt, B, D, K, bound, dzo.get(),
                           dlog.get(), g.stream);
    k::spline_backward_cuda(dx_in.get(), ldx, dh_in.get(), gtr, nt, ddz.get(), ddlog.get(), B, D,
                            K, bound, ddh.get(), ddx.get(), g.stream);
    g.sync();
    efg::check_close(dzo.download(), z, "z");
    efg::check_close(dlog.download(), logdet, "logdet");
    efg::check_close(ddh.download(), dhc, "dh", 1e-3, 1e-5);
    efg::check_close(ddx.download(), dx, "dx", 1e-3, 1e-5);

    // Inverse of the CPU z, plus points exactly on the height knots (row 0 of every dimension
    // is replaced by one of its knots). Rounding is amplified by 1/slope, so the tolerance is
    // per element.
    std::vector<float> zinv = z;
    for (int i = 0; i < D; ++i) {
      const auto yk = axis_knots(h.data() + size_t(i) * P + K, K, bound);
      zinv[size_t(i)] = yk[size_t(i) % yk.size()];
      slope[size_t(i)] = 1e-3f;  // unknown at a knot: loose
    }
    std::vector<float> xref(size_t(B) * D);
    for (size_t e = 0; e < xref.size(); ++e) {
      const int i = int(e % D);
      xref[e] = mask[i] ? zinv[e] : m::rq_inverse(zinv[e], h.data() + e * P, K, bound);
    }
    DeviceBuffer<float> dzinv(zinv), dxinv(size_t(B) * D), dxstep(size_t(B) * ldx);
    k::spline_inverse_cuda(dzinv.get(), dh_in.get(), dtr.get(), nt, B, D, K, bound, dxinv.get(),
                           g.stream);
    if (!cs.masked)  // the autoregressive layer's passes (there h is every dim's, compact = full)
      for (int i = 0; i < D; ++i)
        k::spline_inverse_step_cuda(dzinv.get(), dh_in.get(), B, D, i, K, bound, dxstep.get(),
                                    ldx, g.stream);
    g.sync();
    const auto xinv = dxinv.download(), xstep = dxstep.download();
    size_t bad = 0, bad_step = 0;
    for (size_t e = 0; e < xref.size(); ++e) {
      const size_t r = e / D;
      const int i = int(e % D);
      const double tol = 1e-5 * (1 + std::fabs(xref[e])) * (1 + 1 / double(slope[e]));
      if (!(std::fabs(double(xinv[e]) - xref[e]) <= tol)) ++bad;
      if (!cs.masked && !(std::fabs(double(xstep[r * ldx + i]) - xref[e]) <= tol)) ++bad_step;
    }
    CHECK(bad == 0);
    CHECK(bad_step == 0);
    // The round trip through the CPU forward.
    std::vector<float> zback(size_t(B) * D);
    for (size_t e = 0; e < xref.size(); ++e) {
      float l;
      zback[e] = mask[e % D] ? xinv[e] : m::rq_forward(xinv[e], h.data() + e * P, K, bound, &l);
    }
    efg::check_close(zback, zinv, "inverse round trip z", 1e-4, 2e-5);
  }
}

TEST_CASE("spline: launchers reject bad shapes") {
  efg::require_gpu();
  float* p = reinterpret_cast<float*>(16);  // never dereferenced: the checks come first
  CHECK_THROWS_AS(k::spline_forward_cuda(p, 2, p, nullptr, 2, 4, 2, 1, 3.f, p, p, nullptr), ef::Error);
  CHECK_THROWS_AS(k::spline_forward_cuda(p, 2, p, nullptr, 2, 4, 2, 65, 3.f, p, p, nullptr), ef::Error);
  CHECK_THROWS_AS(k::spline_forward_cuda(p, 1, p, nullptr, 2, 4, 2, 8, 3.f, p, p, nullptr), ef::Error);
  CHECK_THROWS_AS(k::spline_forward_cuda(p, 2, p, nullptr, 1, 4, 2, 8, 3.f, p, p, nullptr), ef::Error);
  CHECK_THROWS_AS(k::spline_backward_cuda(p, 2, p, nullptr, 2, p, p, 4, 2, 8, 0.f, p, p, nullptr), ef::Error);
  CHECK_THROWS_AS(k::spline_inverse_cuda(nullptr, p, reinterpret_cast<const int*>(p), 1, 4, 2, 8, 3.f, p, nullptr), ef::Error);
  CHECK_THROWS_AS(k::spline_inverse_step_cuda(p, p, 4, 2, 2, 8, 3.f, p, 2, nullptr), ef::Error);
}
