// The mixed-type model through the public API: exact normalization over categorical and
// continuous columns, missing values, point masses, bounds, and exact conditional sampling.
#include <echoflow/echoflow.hpp>
#include <algorithm>
#include <cmath>
#include <map>

#include "test_util.hpp"

using echoflow::Column;
using echoflow::Table;

namespace {

double u01(uint64_t s, uint64_t i) { return ef::math::rand_uniform(s, 77, i); }

// A (3 labels), B (2 labels, depends on A), C (3 labels or missing, depends on A and B).
Table cat_table(size_t n) {
  Table t;
  std::vector<std::string> a, b, c;
  std::vector<uint8_t> cm;
  for (size_t i = 0; i < n; ++i) {
    const int ai = u01(1, i) < 0.5 ? 0 : u01(2, i) < 0.6 ? 1 : 2;
    const int bi = u01(3, i) < (ai == 1 ? 0.8 : 0.3) ? 1 : 0;
    const double r = u01(4, i);
    a.push_back(std::string("a") + char('0' + ai));
    b.push_back(bi ? "yes" : "no");
    const int ci = r < 0.1 ? -1 : (r < 0.5 + 0.1 * ai - 0.2 * bi ? 0 : r < 0.8 ? 1 : 2);
    c.push_back(ci < 0 ? "?" : std::string("c") + char('0' + ci));
    cm.push_back(ci < 0);
  }
  t.columns = {Column::categorical("A", a), Column::categorical("B", b), Column::categorical("C", c)};
  t.columns[2].missing = cm;
  t.columns[2].missing_token = "?";
  return t;
}

echoflow::FitOptions quick(int epochs) {
  echoflow::FitOptions o;
  o.flow.layers = 3;
  o.flow.hidden = {32, 32};
  o.train.epochs = epochs;
  o.train.batch_size = 128;
  o.train.adam.lr = 3e-3;
  o.train.patience = 0;
  o.device = "cpu";
  return o;
}

Table one_row(const std::vector<std::pair<std::string, std::string>>& cats,
              const std::vector<std::pair<std::string, double>>& nums) {
  Table t;
  for (auto& [k, v] : cats) {
    Column c = Column::categorical(k, {v});
    if (v == "?") {
      c.missing = {1};
      c.missing_token = "?";
    }
    t.columns.push_back(c);
  }
  for (auto& [k, v] : nums) t.columns.push_back(Column::numeric(k, {v}));
  return t;
}

}  // namespace

TEST_CASE("all-categorical table: probabilities of every row sum to 1, unseen labels score -inf") {
  const Table data = cat_table(3000);
  echoflow::Model m = echoflow::Model::fit(data, quick(15));
  Table all;
  all.columns = {Column::categorical("A", {}), Column::categorical("B", {}), Column::categorical("C", {})};
  for (auto a : {"a0", "a1", "a2"})
    for (auto b : {"no", "yes"})
      for (auto c : {"c0", "c1", "c2", "?"}) {
        all.columns[0].labels.push_back(a);
        all.columns[1].labels.push_back(b);
        all.columns[2].labels.push_back(c);
        all.columns[2].missing.push_back(std::string(c) == "?");
      }
  all.columns[2].missing_token = "?";
  double total = 0;
  for (double lp : m.score(all)) total += std::exp(lp);
  CHECK(std::fabs(total - 1.0) <= 1e-5);
  // The learned probability of a missing C is close to its training rate (0.1).
  const Table s = m.sample(20000, {}, 3);
  double miss = 0;
  for (size_t r = 0; r < s.rows(); ++r) miss += s.columns[2].is_missing(r) / 20000.0;
  CHECK(std::fabs(miss - 0.1) < 0.02);
  // Label spellings survive; an unseen label has probability zero.
  for (size_t r = 0; r < 50; ++r) CHECK(s.columns[0].labels[r].substr(0, 1) == "a");
  const auto lp = m.score(one_row({{"A", "a9"}, {"B", "no"}, {"C", "c0"}}, {}));
  CHECK(lp[0] == -INFINITY);
}

TEST_CASE("mixed table: sum over labels of the integral over x of exp(score) = 1, odd units") {
  // K in {k0, k1, k2}; x | K ~ N(mu_K, 1) in units x*37 + 1000.
  Table t;
  std::vector<std::string> k;
  std::vector<double> x;
  for (size_t i = 0; i < 4000; ++i) {
    const int ki = int(u01(9, i) * 3);
    k.push_back("k" + std::to_string(ki));
    x.push_back((2.0 * ki - 2 + ef::math::rand_normal(10, 0, i)) * 37 + 1000);
  }
  t.columns = {Column::categorical("K", k), Column::numeric("x", x)};
  // The spline flows run inside the tabular model unchanged (categorical context).
  for (const char* flow : {"maf", "realnvp", "nsf-ar", "nsf-coupling"}) {
    INFO("flow ", flow);
    auto opt = quick(10);
    opt.flow.kind = ef::flow_kind_from(flow);
    opt.flow.permutation = ef::Permutation::None;
    echoflow::Model m = echoflow::Model::fit(t, opt);
    Table grid;
    grid.columns = {Column::categorical("K", {}), Column::numeric("x", {})};
    const int n = 3000;
    const double x0 = 1000 - 10 * 37.0, x1 = 1000 + 10 * 37.0, dx = (x1 - x0) / n;
    for (auto kk : {"k0", "k1", "k2"})
      for (int i = 0; i < n; ++i) {
        grid.columns[0].labels.push_back(kk);
        grid.columns[1].values.push_back(x0 + (i + 0.5) * dx);
      }
    double mass = 0;
    for (double lp : m.score(grid)) mass += std::exp(lp) * dx;
    MESSAGE(std::string(flow), ": sum over labels of the integral = ", mass);
    CHECK(std::fabs(mass - 1.0) <= 0.02);
  }
}

TEST_CASE("observed support: positive columns stay positive, integers in range, densities exact") {
  // price: log-normal (positive, heavy right tail); count: integers 0..16; no bounds declared.
  Table t;
  std::vector<double> price, count;
  for (size_t i = 0; i < 4000; ++i) {
    price.push_back(std::exp(ef::math::rand_normal(30, 0, i)) * 100);
    count.push_back(std::clamp(std::round(8 + 3 * ef::math::rand_normal(31, 0, i)), 0.0, 16.0));
  }
  t.columns = {Column::numeric("price", price), Column::numeric("count", count, ef::ColumnType::Integer)};
  const double lo = *std::min_element(price.begin(), price.end()), hi = *std::max_element(price.begin(), price.end());
  const double top = hi + 0.1 * (hi - lo);  // the documented default widening
  echoflow::Model m = echoflow::Model::fit(t, quick(8));
  const Table s = m.sample(20000, {}, 9);
  double above_max = 0;
  for (size_t r = 0; r < s.rows(); ++r) {
    const double p = s.columns[0].values[r], k = s.columns[1].values[r];
    REQUIRE(p > 0);  // was sampled down to -2773 with an unbounded map
    REQUIRE(p <= top);
    above_max += p > hi;
    REQUIRE(k == std::floor(k));
    REQUIRE(k >= 0);
    REQUIRE(k <= 16);
  }
  MESSAGE("samples above the observed max (inside the margin): ", above_max, " of 20000");
  // Outside the support the density is zero.
  const auto out = m.score(one_row({}, {{"price", -1.0}, {"count", 3}}));
  CHECK(out[0] == -INFINITY);
  CHECK(m.score(one_row({}, {{"price", top * 1.01}, {"count", 3}}))[0] == -INFINITY);
  CHECK(m.score(one_row({}, {{"price", 100.0}, {"count", 17}}))[0] == -INFINITY);

  // exp(score) integrates to 1 over the support (0, top], original units: a one-column model,
  // integrated on a log-spaced midpoint grid (dx = x ds).
  Table one;
  one.columns = {t.columns[0]};
  echoflow::Model m1 = echoflow::Model::fit(one, quick(8));
  Table grid;
  grid.columns = {Column::numeric("price", {})};
  const int n = 20000;
  const double s0 = std::log(1e-3), s1 = std::log(top), ds = (s1 - s0) / n;
  for (int i = 0; i < n; ++i) grid.columns[0].values.push_back(std::exp(s0 + (i + 0.5) * ds));
  double mass = 0;
  const auto lp = m1.score(grid);
  for (int i = 0; i < n; ++i) mass += std::exp(lp[i]) * grid.columns[0].values[i] * ds;
  MESSAGE("integral of exp(score) over (0.001, top]: ", mass);
  CHECK(std::fabs(mass - 1.0) <= 0.01);

  // The switch off: the open real line again (the behaviour of earlier builds).
  auto off = quick(8);
  off.support = ef::Support::Unbounded;
  echoflow::Model mu = echoflow::Model::fit(one, off);
  CHECK(std::isfinite(mu.score(one_row({}, {{"price", top * 2}}))[0]));
  CHECK(m1.score(one_row({}, {{"price", top * 2}}))[0] == -INFINITY);
}

TEST_CASE("point masses, missing numeric values, bounds and integers are reproduced") {
  // gain: 60% exactly 0, else a skewed positive amount; 10% missing; min 0 declared.
  // hours: integer in [1, 99].
  Table t;
  std::vector<double> gain, hours;
  std::vector<uint8_t> gm;
  for (size_t i = 0; i < 5000; ++i) {
    const double r = u01(20, i);
    gm.push_back(r < 0.1);
    gain.push_back(r < 0.1 ? NAN : r < 0.64 ? 0.0 : std::exp(7 + ef::math::rand_normal(21, 0, i)));
    hours.push_back(std::clamp(std::round(40 + 10 * ef::math::rand_normal(22, 0, i)), 1.0, 99.0));
  }
  t.columns = {Column::numeric("gain", gain), Column::numeric("hours", hours, ef::ColumnType::Integer)};
  t.columns[0].missing = gm;
  t.columns[0].missing_token = "NA";
  auto opt = quick(8);
  opt.columns["gain"].has_min = true;
  opt.columns["gain"].min = 0;
  opt.columns["hours"].has_min = true;
  opt.columns["hours"].min = 1;
  opt.columns["hours"].has_max = true;
  opt.columns["hours"].max = 99;
  echoflow::Model m = echoflow::Model::fit(t, opt);
  const Table s = m.sample(10000, {}, 5);
  double zeros = 0, missing = 0;
  for (size_t r = 0; r < s.rows(); ++r) {
    if (s.columns[0].is_missing(r)) {
      missing += 1e-4;
      continue;
    }
    CHECK(s.columns[0].values[r] >= 0);
    zeros += (s.columns[0].values[r] == 0.0) * 1e-4;
    const double h = s.columns[1].values[r];
    CHECK(h == std::floor(h));
    CHECK(h >= 1);
    CHECK(h <= 99);
  }
  MESSAGE("sampled share of gain = 0: ", zeros, " (training 0.54); missing: ", missing, " (0.10)");
  CHECK(std::fabs(zeros - 0.54) < 0.03);
  CHECK(std::fabs(missing - 0.10) < 0.02);
  // Rows with a missing value and with the point mass score finitely; negative gain is
  // outside the declared support.
  Table rows;
  rows.columns = {Column::numeric("gain", {NAN, 0.0, 500.0, -3.0}), Column::numeric("hours", {40, 40, 40, 40}, ef::ColumnType::Integer)};
  rows.columns[0].missing = {1, 0, 0, 0};
  const auto lp = m.score(rows);
  CHECK(std::isfinite(lp[0]));
  CHECK(std::isfinite(lp[1]));
  CHECK(std::isfinite(lp[2]));
  CHECK(lp[3] == -INFINITY);
}

TEST_CASE("conditional sampling by enumeration matches the exact conditional") {
  const Table data = cat_table(4000);
  auto opt = quick(15);
  opt.conditional = {"A", "B"};
  echoflow::Model m = echoflow::Model::fit(data, opt);
  // Exact p(A | B = yes) from the model: sum exp(score) over C.
  std::map<std::string, double> joint;
  double z = 0;
  for (auto a : {"a0", "a1", "a2"})
    for (auto c : {"c0", "c1", "c2", "?"}) {
      const double p = std::exp(m.score(one_row({{"A", a}, {"B", "yes"}, {"C", c}}, {}))[0]);
      joint[a] += p;
      z += p;
    }
  ef::SampleInfo info;
  const int n = 20000;
  const Table s = m.sample(n, {{"B", "yes"}}, 11, &info);
  CHECK(info.method == "enumeration");
  std::map<std::string, double> freq;
  for (size_t r = 0; r < s.rows(); ++r) {
    REQUIRE(s.columns[1].labels[r] == "yes");
    freq[s.columns[0].labels[r]] += 1.0 / n;
  }
  for (auto& [a, p] : joint) {
    const double q = p / z, se = std::sqrt(q * (1 - q) / n);
    INFO("A=", a, " sampled ", freq[a], " exact ", q);
    CHECK(std::fabs(freq[a] - q) <= 4 * se);
  }
  // Given a prefix (A): ancestral, exact by construction.
  m.sample(100, {{"A", "a1"}}, 1, &info);
  CHECK(info.method == "ancestral");
  CHECK_THROWS_WITH_AS(m.sample(5, {{"C", "c0"}}, 1), doctest::Contains("not declared"), ef::Error);
  CHECK_THROWS_WITH_AS(m.sample(5, {{"B", "maybe"}}, 1), doctest::Contains("not seen in training"), ef::Error);
}

TEST_CASE("conditional sampling by importance resampling: continuous column before a given label") {
  // x ~ N(0,1); L = "hi" with probability sigmoid(3x). Both conditional, in order [x, L], so
  // --given L=hi must reweight x: E[x | hi] > 0.
  Table t;
  std::vector<double> x;
  std::vector<std::string> l;
  for (size_t i = 0; i < 4000; ++i) {
    const double v = ef::math::rand_normal(30, 0, i);
    x.push_back(v);
    l.push_back(u01(31, i) < 1 / (1 + std::exp(-3 * v)) ? "hi" : "lo");
  }
  t.columns = {Column::numeric("x", x), Column::categorical("L", l)};
  auto opt = quick(10);
  opt.conditional = {"x", "L"};
  echoflow::Model m = echoflow::Model::fit(t, opt);
  // Exact E[x | L=hi] under the model, by quadrature of exp(score(x, hi)).
  Table grid;
  grid.columns = {Column::numeric("x", {}), Column::categorical("L", {})};
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    grid.columns[0].values.push_back(-8 + 16.0 * (i + 0.5) / n);
    grid.columns[1].labels.push_back("hi");
  }
  const auto lp = m.score(grid);
  double w = 0, wx = 0;
  for (int i = 0; i < n; ++i) {
    w += std::exp(lp[i]);
    wx += std::exp(lp[i]) * grid.columns[0].values[i];
  }
  const double exact = wx / w;
  ef::SampleInfo info;
  const Table s = m.sample(4000, {{"L", "hi"}}, 2, &info);
  CHECK(info.method == "importance");
  CHECK(info.ess > 1000);
  double mean = 0;
  for (size_t r = 0; r < s.rows(); ++r) mean += s.columns[0].values[r] / s.rows();
  MESSAGE("E[x | L=hi]: sampled ", mean, ", exact under the model ", exact, ", ESS ", info.ess);
  CHECK(exact > 0.3);
  CHECK(mean == doctest::Approx(exact).epsilon(0.1));
}
