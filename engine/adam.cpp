#include "adam.hpp"

#include <cmath>

#include "flow_math.hpp"
#include "parallel.hpp"

namespace ef {

void adam_step_cpu(float* p, const float* g, float* m, float* v, size_t n, const AdamConfig& cfg,
                   long step) {
  const float bc1 = float(1.0 - std::pow(cfg.beta1, double(step)));
  const float bc2 = float(1.0 - std::pow(cfg.beta2, double(step)));
  const float lr = float(cfg.lr), b1 = float(cfg.beta1), b2 = float(cfg.beta2),
              eps = float(cfg.eps), wd = float(cfg.weight_decay);
#pragma omp parallel for schedule(static) if (n >= ef::kOmpMinElems)
  for (size_t i = 0; i < n; ++i) math::adam_update(p[i], g[i], m[i], v[i], lr, b1, b2, eps, wd, bc1, bc2);
}

}  // namespace ef
