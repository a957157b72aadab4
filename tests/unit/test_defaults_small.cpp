// Defaults on a small table of many categorical columns (issue 16, "small tables overfit": 1.6k
// rows, 65 integer/categorical columns, best epoch 20). Rows drawn from a random Bayesian network
// (efbench's generator, tools/efbench/bif.hpp) with 30 variables, 800 rows, a config of only
// data.path: the model's mean log-likelihood of held-out rows must stay near the network's own
// (the best any model can do), where a model that overfits its 700 training rows falls far short.
#include <echoflow/echoflow.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "bif.hpp"
#include "bn_rows.hpp"
#include "config.hpp"
#include "test_util.hpp"

namespace {

// nats per row: measured 0.77 on defaults (the count tables win the validation rows and are
// refitted on all 800 rows); 1.02 with the tables counted from the 720 training rows only (the
// choice before the refit), 3.06 with the categorical MADE (model.categorical_model "made"), 4.01
// with a MADE whose early stopping keeps the last epoch instead of the best (mutation check);
// without a validation split there is nothing to choose the tables or stop early by (below).
constexpr double kGapBound = 0.9;

// Held-out log-likelihood gap (network's minus the model's, nats per row) of each setting.
double small_table_gap(const std::vector<std::string>& sets, int* best_epoch) {
  const efbench::BayesNet net = efbench::random_network(30, 1605);
  const std::vector<int> train = net.sample(800, 1606), test = net.sample(4000, 1607);
  std::vector<std::string> all{"train.threads=2"};
  all.insert(all.end(), sets.begin(), sets.end());
  const ef::Config cfg = ef::parse_config(R"({"data": {"path": ""}})", "small.json", "", all);
  const echoflow::Model m = echoflow::Model::fit(efbench::bn_table(net, train), ef::fit_options(cfg));
  const std::vector<double> got = m.score(efbench::bn_table(net, test)), truth = net.loglik(test);
  // A test row with a level no training row has scores -inf under any setting: left out of both.
  double gap = 0;
  size_t n = 0;
  for (size_t r = 0; r < got.size(); ++r)
    if (std::isfinite(got[r])) {
      gap += truth[r] - got[r];
      ++n;
    }
  REQUIRE(n > got.size() * 9 / 10);
  *best_epoch = m.training().best_epoch;
  MESSAGE("settings [", all.size() - 1, "]: held-out gap ", gap / double(n), " nats (", got.size() - n,
          " rows at -inf), best epoch ", m.training().best_epoch, " of ", m.training().epochs_run, ", batch ",
          m.training().batch_size);
  return gap / double(n);
}

}  // namespace

TEST_CASE("defaults: a small table of many categorical columns does not overfit (held-out log-likelihood)") {
  // Measured (threads 2): defaults 3.06 nats below the network (best epoch 55 of 103); the same
  // run without a validation split, so without early stopping and its restore of each module's
  // best parameters, 6.19 (all 160 auto epochs: the model learns its 700 rows, not the network).
  // bench/results/QUALITY_DEFAULTS.md, "Small tables".
  int best = 0, best_no_val = 0;
  const double gap = small_table_gap({}, &best);
  const double gap_no_val = small_table_gap({"train.validation_fraction=0"}, &best_no_val);
  CHECK(gap < kGapBound);
  // The table is one where overfitting costs: stopping early must be worth a clear margin.
  CHECK(gap_no_val - gap > 2.0);
  CHECK(best < best_no_val);
}
