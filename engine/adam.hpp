// Adam / AdamW over the flat parameter buffer (params, grads and both moments share one layout).
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

namespace ef {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled (AdamW); 0 = plain Adam
  // Non-empty: weight_decay applies to these [offset, offset + size) parameter ranges only and
  // the rest takes plain Adam steps (e.g. a decay on a model's flow but not its categorical part).
  std::vector<std::pair<size_t, size_t>> decay_only;
};

// One run of parameters [begin, end) and the weight decay it takes.
struct AdamSegment {
  size_t begin, end;
  double weight_decay;
};
// [0, n) split into runs by cfg.decay_only (sorted, overlaps merged; one run when decay_only is
// empty), so every backend applies the same decay to the same parameters.
std::vector<AdamSegment> adam_segments(const AdamConfig& cfg, size_t n);

// One step t (1-based) over n values. The CUDA kernel calls the same math::adam_update.
void adam_step_cpu(float* p, const float* g, float* m, float* v, size_t n, const AdamConfig& cfg,
                   long step);

}  // namespace ef
