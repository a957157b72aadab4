// The count-table model's choice and refit (host/categorical_choice.hpp): the leave-one-out
// likelihood that picks the final prior against refitting without each row, the
// one-standard-error rule, and a chosen table model that does not depend on the training seed
// (graph, prior and counts from every row).
#include <cmath>
#include <string>
#include <vector>

#include "bif.hpp"
#include "bn_rows.hpp"
#include "categorical_choice.hpp"
#include "categorical_table.hpp"
#include "flow_math.hpp"
#include "test_util.hpp"

namespace {

// 3 x 2 x 4 levels, x1 <- x0, x2 <- {x0, x1}; some cells hold a single row.
const std::vector<int> kRefitLevels = {3, 2, 4};
std::vector<int> refit_rows(int N) {
  std::vector<int> c(size_t(N) * 3);
  for (int r = 0; r < N; ++r) {
    auto u = [&](int g) { return ef::math::rand_uniform(23, uint64_t(g), uint64_t(r)); };
    int* x = &c[size_t(r) * 3];
    x[0] = u(0) < 0.6 ? 0 : u(0) < 0.95 ? 1 : 2;
    x[1] = u(1) < (x[0] == 2 ? 0.9 : 0.3) ? 1 : 0;
    x[2] = u(2) < 0.7 ? (x[0] + x[1]) % 4 : int(u(3) * 4);
  }
  return c;
}

}  // namespace

TEST_CASE("table model: the leave-one-out likelihood equals refitting without each row, for every prior") {
  ef::ParamLayout L;
  const ef::CategoricalTable<double> t(kRefitLevels, {{}, {0}, {0, 1}}, {0, 1, 2}, L, "t");
  const int N = 120;
  std::vector<int> rows = refit_rows(N);
  rows[7 * 3 + 1] = 5;  // a code out of range: left out of the counts and of the mean
  std::vector<double> P(L.total());
  for (const ef::CptPrior& prior : {ef::CptPrior{ef::CptPrior::Additive, 0.1}, ef::CptPrior{ef::CptPrior::BDeu, 5},
                                    ef::CptPrior{ef::CptPrior::Marginal, 1}}) {
    double sum = 0;
    int kept = 0;
    for (int r = 0; r < N; ++r) {
      if (r == 7) continue;
      std::vector<int> others;
      for (int q = 0; q < N; ++q)
        if (q != r) others.insert(others.end(), rows.begin() + q * 3, rows.begin() + q * 3 + 3);
      t.fit(P.data(), others.data(), N - 1, prior);
      double lp = 0;
      t.forward(P.data(), &rows[size_t(r) * 3], 1, &lp);
      sum += lp;
      ++kept;
    }
    CHECK(t.loo_loglik(rows.data(), N, prior) == doctest::Approx(sum / kept).epsilon(1e-12));
  }
}

TEST_CASE("categorical choice: the one-standard-error rule keeps the table model unless the MADE is clearly better") {
  // Per-row differences (table - MADE) of sd 1 about a chosen mean, over 400 rows: se = 0.05.
  auto terms = [](double mean_diff, std::vector<double>& table, std::vector<double>& made) {
    table.assign(400, 0.0);
    made.assign(400, 0.0);
    for (size_t r = 0; r < 400; ++r) {
      table[r] = -3.0 + 0.1 * std::sin(double(r));
      made[r] = table[r] - mean_diff - (r % 2 ? 1.0 : -1.0);
    }
  };
  std::vector<double> table, made;
  terms(-0.02, table, made);  // the MADE better by 0.4 se: the tables stay
  ef::TableVsMade c = ef::one_se_rule(table, made);
  CHECK(c.diff == doctest::Approx(-0.02));
  CHECK(c.se == doctest::Approx(1.0 / std::sqrt(399.0)).epsilon(1e-3));
  CHECK(c.keep_table);
  terms(-0.12, table, made);  // by 2.4 se: the MADE
  CHECK_FALSE(ef::one_se_rule(table, made).keep_table);
  terms(0.01, table, made);  // the tables better
  CHECK(ef::one_se_rule(table, made).keep_table);
  CHECK_FALSE(ef::one_se_rule({}, {}).keep_table);
  CHECK_THROWS_AS(ef::one_se_rule({1.0}, {}), std::exception);
}

TEST_CASE("table model: a chosen table model is the same for every training seed and column order (refitted on every row)") {
  const efbench::BayesNet net = efbench::random_network(12, 2);
  const echoflow::Table t = efbench::bn_table(net, net.sample(1500, 13));
  std::vector<echoflow::Model> models;
  // Seeds 0-2 in the learned order, and seed 0 in the table's column order: the refit searches
  // in column order whatever order the MADE was trained in.
  for (int fit = 0; fit < 4; ++fit) {
    echoflow::FitOptions opt = eft::brief_fit(2, "table");
    opt.train.seed = uint64_t(fit % 3);
    if (fit == 3) opt.categorical_order = "table";
    models.push_back(echoflow::Model::fit(t, opt));
    const std::string& why = models.back().training().categorical_model;
    MESSAGE(why);
    REQUIRE(why.find("refitted on all 1500 rows") != std::string::npos);
  }
  // The MADE's column order (the groups' order in the model) differs between these fits, so the
  // tables' sums run in another order: equal to float rounding, not bit for bit, and the draws
  // take their uniforms in another order.
  const std::string& why0 = models[0].training().categorical_model;
  const std::vector<double> s0 = models[0].score(t);
  for (size_t m = 1; m < models.size(); ++m) {
    const std::string& why = models[m].training().categorical_model;
    CHECK(why.substr(why.find("refitted")) == why0.substr(why0.find("refitted")));
    const std::vector<double> s = models[m].score(t);
    REQUIRE(s.size() == s0.size());
    int differ = 0;
    for (size_t r = 0; r < s.size(); ++r) differ += !(std::fabs(s[r] - s0[r]) <= 1e-5 * std::fabs(s0[r]));
    CHECK(differ == 0);
  }
}
