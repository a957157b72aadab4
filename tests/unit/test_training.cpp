// Training through the public C++ API: a known 2-D density (entropy), normalization in original
// units, save/load, seeds.
#include <echoflow/echoflow.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "test_util.hpp"

namespace {

// "Banana": x1 ~ N(0,1), x2 | x1 ~ N(x1^2 / 2, 0.5^2). Entropy = 0.5 log(2 pi e) +
// 0.5 log(2 pi e 0.25), exactly, since H(x1, x2) = H(x1) + H(x2 | x1).
constexpr double kLog2PiE = 2.8378770664093453;
const double kBananaEntropy = 0.5 * kLog2PiE + 0.5 * (kLog2PiE + std::log(0.25));

double banana_logp(double x1, double x2) {
  const double m = 0.5 * x1 * x1;
  return ef::math::log_normal(x1) + ef::math::log_normal((x2 - m) / 0.5) - std::log(0.5);
}

echoflow::Table banana(size_t n, uint64_t seed, double scale, double shift) {
  echoflow::Table t;
  t.columns = {echoflow::Column::numeric("a", {}), echoflow::Column::numeric("b", {})};
  for (size_t i = 0; i < n; ++i) {
    const double x1 = ef::math::rand_normal(seed, 0, i);
    const double x2 = 0.5 * x1 * x1 + 0.5 * ef::math::rand_normal(seed, 1, i);
    t.columns[0].values.push_back(x1 * scale + shift);
    t.columns[1].values.push_back(x2 * scale + shift);
  }
  return t;
}

echoflow::FitOptions options(ef::FlowKind kind, int epochs) {
  echoflow::FitOptions o;
  o.flow.kind = kind;
  o.flow.layers = 5;
  o.flow.hidden = {64, 64};
  o.flow.permutation = kind == ef::FlowKind::MAF ? ef::Permutation::Reverse : ef::Permutation::None;
  o.train.epochs = epochs;
  o.train.batch_size = 256;
  o.train.adam.lr = 2e-3;
  o.train.validation_fraction = 0.1;
  o.train.patience = 15;
  o.device = "cpu";
  return o;
}

}  // namespace

TEST_CASE("MAF learns a known 2-D density to within 0.1 nats of its entropy on held-out data") {
  const echoflow::Table train = banana(10000, 1, 1.0, 0.0), test = banana(5000, 2, 1.0, 0.0);
  echoflow::Model m = echoflow::Model::fit(train, options(ef::FlowKind::MAF, 60));
  const std::vector<double> lp = m.score(test);
  double mean = 0, mean_true = 0;
  std::vector<double> diff(lp.size());
  for (size_t i = 0; i < lp.size(); ++i) {
    const double t = banana_logp(test.columns[0].values[i], test.columns[1].values[i]);
    mean += lp[i] / lp.size();
    mean_true += t / lp.size();
    diff[i] = lp[i] - t;
  }
  double md = 0, vd = 0;
  for (double d : diff) md += d / diff.size();
  for (double d : diff) vd += (d - md) * (d - md) / (diff.size() - 1);
  const double se = std::sqrt(vd / diff.size());
  MESSAGE("held-out NLL ", -mean, " true entropy ", kBananaEntropy, " (true density on these rows: ",
          -mean_true, ", gap ", -md, " +- ", se, ")");
  CHECK(std::fabs(-mean - kBananaEntropy) < 0.1);
  // A model cannot beat the truth: on the same rows its log-likelihood may exceed the true one
  // only by sampling noise.
  CHECK(md <= se);
}

TEST_CASE("exp(score) integrates to 1 in original units (data in odd units x*37+1000)") {
  for (ef::FlowKind kind : {ef::FlowKind::MAF, ef::FlowKind::RealNVP}) {
    INFO("flow ", std::string(ef::to_string(kind)));
    const echoflow::Table train = banana(4000, 3, 37.0, 1000.0);
    auto opt = options(kind, 25);
    // Standardization here (a smooth Jacobian the midpoint rule resolves); the quantile map's
    // Jacobian is checked by finite differences in test_encoders and by the 1-D integral in
    // test_tabular.
    opt.columns["a"].encoder = opt.columns["b"].encoder = "standardize";
    echoflow::Model m = echoflow::Model::fit(train, opt);
    // Midpoint rule on a grid covering the model's mass (x1 in [-6, 6], x2 in [-4, 20] before
    // scaling) in original units.
    const double mass = eft::grid_mass(m, 1000 - 6 * 37.0, 1000 + 6 * 37.0, 1000 - 4 * 37.0,
                                       1000 + 20 * 37.0, 300);
    MESSAGE(std::string(ef::to_string(kind)), ": integral of exp(score) over the grid = ", mass);
    CHECK(std::fabs(mass - 1.0) <= 0.02);
  }
}

TEST_CASE("save/load gives bit-identical scores, the same seed gives identical samples") {
  const echoflow::Table train = banana(2000, 4, 3.0, -7.0);
  for (ef::FlowKind kind : {ef::FlowKind::MAF, ef::FlowKind::RealNVP}) {
    auto opt = options(kind, 3);
    opt.flow.actnorm = true;
    echoflow::Model m = echoflow::Model::fit(train, opt);
    const auto path = (std::filesystem::temp_directory_path() / "ef_test_saveload.efm").string();
    m.save(path);
    echoflow::Model l = echoflow::Model::load(path);
    std::filesystem::remove(path);
    const auto s1 = m.score(train), s2 = l.score(train);
    REQUIRE(s1.size() == s2.size());
    for (size_t i = 0; i < s1.size(); ++i) REQUIRE(s1[i] == s2[i]);  // bit-identical
    const auto a = m.sample(500, {}, 9), b = l.sample(500, {}, 9), c = l.sample(500, {}, 10);
    CHECK(a.columns[0].values == b.columns[0].values);
    CHECK(a.columns[1].values == b.columns[1].values);
    CHECK(a.columns[0].values != c.columns[0].values);
  }
}

TEST_CASE("conditional columns: --given fixes them and changes the rest") {
  // b depends on a: b ~ N(a^2/2, 0.5^2) (banana); sampling b given a = 2 must centre near 2.
  const echoflow::Table train = banana(6000, 5, 1.0, 0.0);
  auto opt = options(ef::FlowKind::MAF, 30);
  opt.conditional = {"a"};
  echoflow::Model m = echoflow::Model::fit(train, opt);
  const auto s = m.sample(2000, {{"a", "2"}}, 3);
  double mean = 0;
  for (size_t i = 0; i < s.rows(); ++i) {
    REQUIRE(s.columns[0].values[i] == 2.0);
    mean += s.columns[1].values[i] / s.rows();
  }
  MESSAGE("mean of b given a=2: ", mean, " (true 2.0)");
  CHECK(mean == doctest::Approx(2.0).epsilon(0.1));
  CHECK_THROWS_WITH_AS(m.sample(10, {{"b", "1"}}, 1), doctest::Contains("not declared"), ef::Error);
  CHECK_THROWS_WITH_AS(m.sample(10, {{"zz", "1"}}, 1), doctest::Contains("no such column"), ef::Error);
  CHECK_THROWS_WITH_AS(m.sample(10, {{"a", "x"}}, 1), doctest::Contains("not a finite number"), ef::Error);
}
