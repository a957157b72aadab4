// logdet_reduce kernels against engine/flow.cpp's log_prob / backward loops.
#include <vector>

#include "gpu_util.hpp"
#include "kernels/logdet_reduce.cuh"

using efg::DeviceBuffer;
namespace k = ef::kernels;

TEST_CASE("log_prob: row reduction, base backward and batch sum match the CPU") {
  efg::require_gpu();
  efg::GpuContext g;
  for (int D : {1, 7, 33, 100})
    for (int B : {1, 999}) {
      const uint64_t seed = efg::fresh_seed();
      CAPTURE(seed);
      CAPTURE(D);
      CAPTURE(B);
      auto z = efg::randn(size_t(B) * D, seed);
      auto logdet = efg::randn(size_t(B), seed + 1, 3.f);
      auto dlogp = efg::randn(size_t(B), seed + 2);
      // Reference: exactly the loops of Flow::log_prob and Flow::backward.
      std::vector<float> logp(B), dz(size_t(B) * D);
      double sum = 0;
      for (int r = 0; r < B; ++r) {
        float lp = logdet[r];
        for (int i = 0; i < D; ++i) lp += ef::math::log_normal(z[size_t(r) * D + i]);
        logp[r] = lp;
        sum += lp;
        for (int i = 0; i < D; ++i) dz[size_t(r) * D + i] = -dlogp[r] * z[size_t(r) * D + i];
      }
      DeviceBuffer<float> dzin(z), dld(logdet), ddlogp(dlogp), dlogp_out(static_cast<size_t>(B)),
          ddz(dz.size());
      DeviceBuffer<double> dsum(1);
      k::log_prob_rows_cuda(dzin.get(), dld.get(), B, D, dlogp_out.get(), g.stream);
      k::log_prob_backward_cuda(dzin.get(), ddlogp.get(), B, D, ddz.get(), g.stream);
      k::sum_scaled_cuda(dlogp_out.get(), B, 1.0 / B, dsum.get(), g.stream);
      g.sync();
      const auto glogp = dlogp_out.download();
      efg::check_close(glogp, logp, "logp");
      efg::check_close(ddz.download(), dz, "dz");
      double gsum = 0;  // the mean of the GPU's own logp, in double, must match to rounding
      for (float v : glogp) gsum += v;
      const double got = dsum.download()[0];
      CHECK(std::isfinite(got));
      CHECK(std::fabs(got - gsum / B) <= 1e-9 * (1 + std::fabs(gsum / B)));
      CHECK(std::fabs(got - sum / B) <= 1e-4 * (1 + std::fabs(sum / B)));
    }
}
