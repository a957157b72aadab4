// Defaults on a continuous 2-D table: a config of only data.path must draw rows that sit on the
// data's modes. The table is SDGym's "gridr" kind of mixture: 25 Gaussians (variance 0.05) on a
// 5 x 5 grid of spacing 2, each mode moved by a fixed offset in [-0.5, 0.5)^2, equal weights.
// Its exact log-density scores the drawn rows (L_syn, the CTGAN paper's oracle); the same mean
// over real rows is the ceiling. With MAF as the default flow the drawn rows fell between the
// modes (L_syn 1.3 nats under the real rows at 10,000 rows; bench/results/QUALITY_DEFAULTS.md).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "config.hpp"
#include "flow_size.hpp"
#include "test_util.hpp"

namespace {

constexpr double kVar = 0.05;

struct Mixture {
  std::vector<double> mx, my;  // the 25 means
};

Mixture make_gridr() {
  Mixture m;
  uint64_t k = 0;
  for (int a = -4; a <= 4; a += 2)
    for (int b = -4; b <= 4; b += 2) {
      m.mx.push_back(a + ef::math::rand_uniform(91, 0, k) - 0.5);
      m.my.push_back(b + ef::math::rand_uniform(91, 1, k) - 0.5);
      ++k;
    }
  return m;
}

double logpdf(const Mixture& m, double x, double y) {
  const size_t K = m.mx.size();
  double best = -std::numeric_limits<double>::infinity();
  std::vector<double> a(K);
  for (size_t c = 0; c < K; ++c) {
    a[c] = -((x - m.mx[c]) * (x - m.mx[c]) + (y - m.my[c]) * (y - m.my[c])) / (2 * kVar);
    best = std::max(best, a[c]);
  }
  double s = 0;
  for (double v : a) s += std::exp(v - best);
  return best + std::log(s) - std::log(2 * M_PI * kVar) - std::log(double(K));
}

// n rows, equal blocks per mode, shuffled by the draw order of the noise.
echoflow::Table draw(const Mixture& m, size_t n, uint64_t seed) {
  std::vector<double> x(n), y(n);
  const size_t K = m.mx.size();
  for (size_t i = 0; i < n; ++i) {
    const size_t c = size_t(ef::math::rand_u64(seed, 2, i) % K);
    x[i] = m.mx[c] + std::sqrt(kVar) * ef::math::rand_normal(seed, 0, i);
    y[i] = m.my[c] + std::sqrt(kVar) * ef::math::rand_normal(seed, 1, i);
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("x", std::move(x)));
  t.columns.push_back(echoflow::Column::numeric("y", std::move(y)));
  return t;
}

double mean_logpdf(const Mixture& m, const echoflow::Table& t) {
  double s = 0;
  for (size_t r = 0; r < t.rows(); ++r) s += logpdf(m, t.columns[0].values[r], t.columns[1].values[r]);
  return s / double(t.rows());
}

}  // namespace

TEST_CASE("defaults: rows drawn from a 25-mode 2-D mixture sit on its modes (L_syn near the real rows')") {
  const Mixture mix = make_gridr();
  const echoflow::Table real = draw(mix, 3000, 5);
  // Exactly what `eftrain train` does with a config of only data.path (and the thread count).
  const ef::Config cfg = ef::parse_config(R"({"data": {"path": "mixture.csv"}})", "mixture.json", "",
                                          {"train.threads=2"});
  const echoflow::Model m = echoflow::Model::fit(real, ef::fit_options(cfg));
  const double ceiling = mean_logpdf(mix, draw(mix, 3000, 6));
  const double l_syn = mean_logpdf(mix, m.sample(3000, {}, 11));
  const double held_out = [&] {
    const std::vector<double> lp = m.score(draw(mix, 3000, 6));
    double s = 0;
    for (double v : lp) s += v;
    return s / double(lp.size());
  }();
  INFO("flow ", ef::flow_name(cfg.flow), ": L_syn ", l_syn, ", real rows ", ceiling, ", held-out LL ", held_out,
       "; ", m.training().epochs_run, " epochs, batch ", m.training().batch_size);
  // Measured here (3000 rows, threads 2; bench/results/QUALITY_DEFAULTS.md, "Modes"): the
  // defaults (both columns split into 5 modes, tail bound 5) L_syn 0.30 and held-out 0.22 under
  // the real rows (tail bound 3: 0.24 and 0.22 on this draw, 0.21 worse in L_syn on bench_mix's
  // three); one mode per column (data.split_modes=false) 0.61 and 0.27; maf 1.39 and 0.52.
  CHECK(l_syn > ceiling - 0.4);
  CHECK(held_out > ceiling - 0.3);
}

namespace {
// The "model" section of a model file's JSON header (README: Model file format).
nlohmann::json saved_flow(const echoflow::Model& m) {
  const std::string path = std::string("bins_auto_test_") + std::to_string(::getpid()) + ".efm";
  m.save(path);
  std::ifstream in(path, std::ios::binary);
  std::string head(16, '\0');
  in.read(head.data(), 16);
  uint32_t n = 0;
  std::memcpy(&n, head.data() + 12, 4);
  std::string text(n, '\0');
  in.read(text.data(), std::streamsize(n));
  in.close();
  std::remove(path.c_str());
  REQUIRE(head.compare(0, 8, std::string("EFMODEL\0", 8)) == 0);
  return nlohmann::json::parse(text).at("model");
}
}  // namespace

TEST_CASE("defaults: model.bins auto gives 16 spline bins to a flow of at most 4 dimensions on 10,000 rows or more") {
  // One epoch each: only the resolved size is checked here.
  auto fit = [](size_t cols, size_t rows, const std::vector<std::string>& extra) {
    echoflow::Table t;
    for (size_t c = 0; c < cols; ++c) {
      std::vector<double> v(rows);
      for (size_t r = 0; r < v.size(); ++r) v[r] = ef::math::rand_normal(3, c, r);
      t.columns.push_back(echoflow::Column::numeric("c" + std::to_string(c), std::move(v)));
    }
    std::vector<std::string> ov = {"train.threads=1", "train.epochs=1"};
    ov.insert(ov.end(), extra.begin(), extra.end());
    const ef::Config cfg = ef::parse_config(R"({"data": {"path": "t.csv"}})", "t.json", "", ov);
    if (extra.empty()) CHECK(cfg.flow.bins == ef::kAutoBins);  // resolved at fit, not in the config
    return echoflow::Model::fit(t, ef::fit_options(cfg));
  };
  const echoflow::Model two = fit(2, 10000, {});
  CHECK(saved_flow(two).at("bins") == 16);
  CHECK(saved_flow(fit(4, 10000, {})).at("bins") == 16);
  CHECK(saved_flow(fit(5, 10000, {})).at("bins") == 8);
  CHECK(saved_flow(fit(2, 9999, {})).at("bins") == 8);
  CHECK(saved_flow(fit(2, 10000, {"model.flow=nsf-coupling"})).at("bins") == 16);
  CHECK(saved_flow(fit(2, 10000, {"model.bins=8"})).at("bins") == 8);  // a number in the config wins
  // The file keeps the resolved count and loads to the same model.
  const std::string path = std::string("bins_auto_load_") + std::to_string(::getpid()) + ".efm";
  two.save(path);
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  echoflow::Table probe;
  probe.columns.push_back(echoflow::Column::numeric("c0", {0.1, -1.0}));
  probe.columns.push_back(echoflow::Column::numeric("c1", {0.5, 2.0}));
  CHECK(back.score(probe) == two.score(probe));
  CHECK(saved_flow(back).at("bins") == 16);
}

TEST_CASE("defaults: model.tail_bound auto is 5 when a column is split into modes, else 3") {
  // One epoch each: only the resolved bound is checked here. x has five separated clusters
  // (split into modes), or is one normal (no modes).
  auto fit = [](bool clusters, const std::vector<std::string>& extra) {
    std::vector<double> x(3000), y(3000);
    for (size_t r = 0; r < x.size(); ++r) {
      x[r] = (clusters ? 4.0 * double(r % 5) : 0.0) + 0.2 * ef::math::rand_normal(4, 0, r);
      y[r] = ef::math::rand_normal(4, 1, r);
    }
    echoflow::Table t;
    t.columns.push_back(echoflow::Column::numeric("x", std::move(x)));
    t.columns.push_back(echoflow::Column::numeric("y", std::move(y)));
    std::vector<std::string> ov = {"train.threads=1", "train.epochs=1"};
    ov.insert(ov.end(), extra.begin(), extra.end());
    const ef::Config cfg = ef::parse_config(R"({"data": {"path": "t.csv"}})", "t.json", "", ov);
    return echoflow::Model::fit(t, ef::fit_options(cfg));
  };
  const echoflow::Model modes = fit(true, {});
  CHECK(modes.schema()["columns"][0]["encoder"].get<std::string>() == "logit + quantile + 5 modes");
  CHECK(saved_flow(modes).at("tail_bound") == 5.0);
  CHECK(saved_flow(fit(false, {})).at("tail_bound") == 3.0);
  CHECK(saved_flow(fit(true, {"data.split_modes=false"})).at("tail_bound") == 3.0);
  CHECK(saved_flow(fit(true, {"model.tail_bound=4"})).at("tail_bound") == 4.0);  // a number wins
  // The file keeps the resolved bound and loads to the same model.
  const std::string path = std::string("tail_auto_load_") + std::to_string(::getpid()) + ".efm";
  modes.save(path);
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  echoflow::Table probe;
  probe.columns.push_back(echoflow::Column::numeric("x", {0.1, 4.2, 7.9}));
  probe.columns.push_back(echoflow::Column::numeric("y", {0.5, 2.0, -1.0}));
  CHECK(back.score(probe) == modes.score(probe));
  CHECK(saved_flow(back).at("tail_bound") == 5.0);
}
