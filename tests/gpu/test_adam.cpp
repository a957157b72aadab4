// adam kernel against ef::adam_step_cpu over a few steps (moments carried over).
#include <cmath>
#include <vector>

#include "adam.hpp"
#include "gpu_util.hpp"
#include "kernels/adam.cuh"

using efg::DeviceBuffer;

TEST_CASE("adam: fused kernel matches adam_step_cpu over 3 steps") {
  efg::require_gpu();
  efg::GpuContext g;
  for (double wd : {0.0, 0.01}) {
    const uint64_t seed = efg::fresh_seed();
    CAPTURE(seed);
    CAPTURE(wd);
    const size_t n = 10007;  // not a multiple of 4 * 256
    auto p = efg::randn(n, seed), m = efg::randn(n, seed + 1, 0.01f);
    auto v = efg::randn(n, seed + 2, 0.01f);
    for (float& x : v) x = x * x;
    DeviceBuffer<float> dp(p), dm(m), dv(v), dg(n);
    DeviceBuffer<ef::kernels::AdamDeviceScalars> ds(1);
    ef::AdamConfig cfg;
    cfg.lr = 3e-3;
    cfg.weight_decay = wd;
    for (long step = 1; step <= 3; ++step) {
      auto grad = efg::randn(n, seed + 10 + uint64_t(step));
      ef::adam_step_cpu(p.data(), grad.data(), m.data(), v.data(), n, cfg, step);
      const ef::kernels::AdamDeviceScalars s{float(cfg.lr),
                                             float(1.0 - std::pow(cfg.beta1, double(step))),
                                             float(1.0 - std::pow(cfg.beta2, double(step)))};
      ds.upload({s});
      dg.upload(grad);
      ef::kernels::adam_cuda(dp.get(), dg.get(), dm.get(), dv.get(), n, ds.get(),
                             float(cfg.beta1), float(cfg.beta2), float(cfg.eps),
                             float(cfg.weight_decay), g.stream);
      g.sync();
    }
    efg::check_close(dp.download(), p, "params");
    efg::check_close(dm.download(), m, "m");
    efg::check_close(dv.download(), v, "v");
  }
}
