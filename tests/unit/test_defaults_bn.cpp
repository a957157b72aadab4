// Defaults on a categorical-only table: rows sampled from a Bayesian network (efbench's random
// network generator, tools/efbench/bif.hpp), a config of only data.path. SDGym's L_syn (mean true
// log-probability of the synthetic rows, floored at 1e-8) and L_test (the network's CPTs refit on
// the synthetic rows, scored on test rows) must stay near the real rows' own figures (the
// training rows used as the synthetic ones): issue 16's Bayesian-network goal, at CI size.
#include <echoflow/echoflow.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "bif.hpp"
#include "bn_rows.hpp"
#include "config.hpp"
#include "test_util.hpp"

namespace {

using efbench::bn_codes;
using efbench::bn_table;
using efbench::floored_mean;

// Measured on defaults (seeds 0-2 of the same rows): L_syn 0.23-0.28 nats and L_test 0.09-0.12
// below the real rows'; the old fixed defaults (batch 256, 50 epochs, patience 10) gave 0.89 and
// 0.25. Issue 16's goal is 0.2 for both; these bounds guard what the defaults reach today.
constexpr double kSynBound = 0.4, kTestBound = 0.18;

}  // namespace

TEST_CASE("defaults: a random Bayesian network's synthetic rows score near the real rows (L_syn, L_test)") {
  const efbench::BayesNet net = efbench::random_network(12, 4);
  const size_t n = 3000;
  const std::vector<int> train = net.sample(n, 1104), test = net.sample(n, 2104);
  auto l_test = [&](const std::vector<int>& syn) {
    const auto cpts = net.fit(syn, 0.0);
    return floored_mean(net.loglik(test, &cpts));
  };
  const double real_syn = floored_mean(net.loglik(train)), real_test = l_test(train);
  const ef::Config cfg = ef::parse_config(R"({"data": {"path": ""}})", "bn.json", "", {"train.threads=2"});
  const echoflow::Model m = echoflow::Model::fit(bn_table(net, train), ef::fit_options(cfg));
  const std::vector<int> syn = bn_codes(net, m.sample(n, {}, 7));
  const double got_syn = floored_mean(net.loglik(syn)), got_test = l_test(syn);
  INFO("L_syn ", got_syn, " (real ", real_syn, "), L_test ", got_test, " (real ", real_test, "); ",
       m.training().epochs_run, " epochs, batch ", m.training().batch_size);
  // bench/results/QUALITY_DEFAULTS.md, "Bayesian networks on defaults: measured set".
  CHECK(got_syn > real_syn - kSynBound);
  CHECK(got_test > real_test - kTestBound);
}
