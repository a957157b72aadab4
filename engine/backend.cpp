// The Backend methods with a default: the CPU reference on a copy of the parameters.
#include "backend.hpp"

namespace ef {

void Backend::score_terms(const int* codes, const float* u, int B, float* terms) {
  const TabularModel<float> model(spec());
  const std::vector<float> P = get_params();
  TabularWorkspace<float> ws;
  model.log_prob_terms(P.data(), codes, u, B, terms, ws);
}

}  // namespace ef
