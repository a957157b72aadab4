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

// Measured on defaults (seeds 0-2 of the same rows; learned DAG order): L_syn 0.08-0.34 nats and
// L_test 0.06-0.16 below the real rows' (table order: 0.24-0.29 and 0.08-0.12); the old fixed
// defaults (batch 256, 50 epochs, patience 10) gave 0.89 and 0.25. Issue 16's goal is 0.2 for
// both; at 3000 rows the seeds spread too far for a tighter bound.
constexpr double kSynBound = 0.4, kTestBound = 0.18;

// A 15-variable network at 10k rows (efbench's random15 rows): with the learned DAG order L_syn is
// 0.10-0.17 below the real rows over seeds 0-2, in table order 0.39-0.42
// (bench/results/QUALITY_DEFAULTS.md, "A learned DAG order"). 0.25 separates the two.
constexpr double kSynBound10k = 0.25, kTestBound10k = 0.12;

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

TEST_CASE("defaults: the learned column order keeps a 10k-row random network's L_syn within 0.25 of the real rows") {
  const efbench::BayesNet net = efbench::random_network(15, 2);
  const size_t n = 10000;
  const std::vector<int> train = net.sample(n, 1102), test = net.sample(n, 2102);
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
       m.training().epochs_run, " epochs");
  CHECK(got_syn > real_syn - kSynBound10k);
  CHECK(got_test > real_test - kTestBound10k);
}
