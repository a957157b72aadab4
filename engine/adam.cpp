#include "adam.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"

#include "flow_math.hpp"
#include "parallel.hpp"

namespace ef {

std::vector<AdamSegment> adam_segments(const AdamConfig& cfg, size_t n) {
  if (cfg.decay_only.empty()) return {{0, n, cfg.weight_decay}};
  std::vector<std::pair<size_t, size_t>> r = cfg.decay_only;  // (offset, size) -> [begin, end)
  for (auto& [b, e] : r) {
    EF_CHECK(b <= n && e <= n - b, "weight-decay range [", b, ", ", b + e, ") is outside the ", n, " parameters");
    e += b;
  }
  std::sort(r.begin(), r.end());
  std::vector<AdamSegment> out;
  size_t at = 0;
  bool decayed = false;  // whether out.back() is a decayed run
  for (auto [b, e] : r) {
    if (e == b || e <= at) continue;  // empty, or inside the last decayed run
    if (b > at) {
      out.push_back({at, b, 0.0});
      decayed = false;
    }
    if (b < at || (b == at && decayed))
      out.back().end = e;  // overlapping or adjacent decayed ranges: one run
    else
      out.push_back({b, e, cfg.weight_decay});
    decayed = true;
    at = e;
  }
  if (at < n) out.push_back({at, n, 0.0});
  return out;
}

void adam_step_cpu(float* p, const float* g, float* m, float* v, size_t n, const AdamConfig& cfg,
                   long step) {
  const float bc1 = float(1.0 - std::pow(cfg.beta1, double(step)));
  const float bc2 = float(1.0 - std::pow(cfg.beta2, double(step)));
  const float lr = float(cfg.lr), b1 = float(cfg.beta1), b2 = float(cfg.beta2),
              eps = float(cfg.eps);
  for (const AdamSegment& s : adam_segments(cfg, n)) {
    const float wd = float(s.weight_decay);
    const size_t lo = s.begin, hi = s.end;
#pragma omp parallel for schedule(static) if (hi - lo >= ef::kOmpMinElems)
    for (size_t i = lo; i < hi; ++i) math::adam_update(p[i], g[i], m[i], v[i], lr, b1, b2, eps, wd, bc1, bc2);
  }
}

}  // namespace ef
