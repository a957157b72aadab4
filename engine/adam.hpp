// Adam / AdamW over the flat parameter buffer (params, grads and both moments share one layout).
#pragma once
#include <cstddef>

namespace ef {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled (AdamW); 0 = plain Adam
};

// One step t (1-based) over n values. The CUDA kernel calls the same math::adam_update.
void adam_step_cpu(float* p, const float* g, float* m, float* v, size_t n, const AdamConfig& cfg,
                   long step);

}  // namespace ef
