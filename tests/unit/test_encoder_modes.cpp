// Modes of a continuous column (ColumnEncoder::mode_z): where they are found, and that the
// mode map keeps every score an exact density (log-Jacobians, inverses, the mode masses).
#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "encoders.hpp"
#include "error.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {
// The x coordinate of SDGym's gridr: five columns of modes at -4, -2, 0, 2, 4, each column five
// modes shifted by uniform(-0.5, 0.5), standard deviation sqrt(0.05).
std::vector<double> grid_column(size_t n, uint64_t seed) {
  double shift[25];
  for (int k = 0; k < 25; ++k) shift[k] = math::rand_uniform(seed, 0, uint64_t(k)) - 0.5;
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i % 25;
    v[i] = -4.0 + 2.0 * double(k / 5) + shift[k] + std::sqrt(0.05) * math::rand_normal(seed, 1, i);
  }
  return v;
}
ColumnEncoder fit(const std::vector<double>& v, ColumnType type = ColumnType::Continuous,
                  const char* encoder = "auto", bool split = true) {
  ColumnOptions o;
  o.encoder = encoder;
  o.split_modes = split;
  o.support = Support::Unbounded;  // the maps themselves, tails included
  return ColumnEncoder::fit_numeric("x", type, v, 0, "", o);
}
double log_normal(double u) { return -0.5 * u * u - 0.5 * std::log(2 * M_PI); }
}  // namespace

TEST_CASE("modes: a column of five separated clusters is split at its four valleys, and only there") {
  const ColumnEncoder e = fit(grid_column(10000, 3));
  REQUIRE(e.marginal == Marginal::Quantile);
  REQUIRE(e.value_states() == 5);
  REQUIRE(e.group_levels() == 5);
  for (int k = 0; k < 4; ++k) {
    const double split = e.value_at_score(e.mode_z[size_t(k)]);
    INFO("split ", k, " at ", split);
    CHECK(std::fabs(split - (-3.0 + 2.0 * k)) < 0.4);  // between two clusters, not on one
  }
  for (double x : {-4.1, -2.0, 0.2, 1.9, 4.3}) CHECK(e.state_of(x) == int(std::lround((x + 4) / 2)));

  // One mode where there is no valley: a skewed, a heavy-tailed and a flat column (each gets
  // the quantile map), two clusters too close to leave a valley, and the same clusters when
  // the encoder is named "quantile" or split_modes is off.
  std::vector<double> skew, heavy, flat, close;
  for (size_t i = 0; i < 10000; ++i) {
    const double z = math::rand_normal(5, 0, i), w = math::rand_normal(5, 1, i);
    skew.push_back(std::exp(1.2 * z));
    heavy.push_back(z / std::max(0.05, std::fabs(w)));
    flat.push_back(math::rand_uniform(5, 2, i));
    close.push_back((i % 2 ? 1.0 : -1.0) + z);
  }
  for (const auto* v : {&skew, &heavy, &flat, &close}) {
    const ColumnEncoder one = fit(*v);
    CHECK(one.value_states() == 1);
    CHECK(one.group_levels() == 0);
  }
  CHECK(fit(skew).marginal == Marginal::Quantile);
  CHECK(fit(flat).marginal == Marginal::Quantile);
  CHECK(fit(grid_column(10000, 3), ColumnType::Continuous, "quantile").value_states() == 1);
  CHECK(fit(grid_column(10000, 3), ColumnType::Continuous, "auto", false).value_states() == 1);

  // A small mode keeps its own state down to 2% of the values; below that it stays with its
  // neighbour.
  std::vector<double> big_small;
  for (size_t i = 0; i < 10000; ++i)
    big_small.push_back((i % 100 < 3 ? 8.0 : 0.0) + math::rand_normal(6, 0, i));
  CHECK(fit(big_small).value_states() == 2);
  for (size_t i = 0; i < 10000; ++i) big_small[i] = (i % 100 < 1 ? 8.0 : 0.0) + math::rand_normal(6, 0, i);
  CHECK(fit(big_small).value_states() == 1);
  // Fewer than 2,000 values keep one mode, however deep the valleys.
  const std::vector<double> few = grid_column(1999, 3), enough = grid_column(2000, 3);
  CHECK(fit(few).value_states() == 1);
  CHECK(fit(enough).value_states() == 5);
}

TEST_CASE("modes: an integer column splits on cell edges, so a value's mode is its dequantized values' mode") {
  std::vector<double> ints = grid_column(10000, 3);
  for (double& x : ints) x = std::floor(10 * x);  // clusters 20 cells apart, 2 cells wide
  const ColumnEncoder e = fit(ints, ColumnType::Integer);
  REQUIRE(e.value_states() == 5);
  for (double z : e.mode_z) {
    const double edge = e.value_at_score(z);
    CHECK(std::fabs(edge - std::round(edge)) < 1e-9);
    CHECK(e.normal_score(std::round(edge)) == z);
  }
  for (double k = -60; k <= 60; ++k) {
    const int m = e.state_of(k);
    for (double v : {0.0, 0.3, 0.99}) {
      double lj = 0;
      const double u = e.encode(k + v, &lj);
      INFO("k = ", k, ", v = ", v);
      CHECK(e.state_of(k + v) == m);
      if (v > 0) CHECK(std::floor(e.decode(u, m)) == k);  // back into its own cell (k itself may round to k - 1e-15)
    }
  }
}

TEST_CASE("modes: every mode's map is exact: log-Jacobian, inverse, and mass times density") {
  const ColumnEncoder e = fit(grid_column(10000, 7));
  REQUIRE(e.value_states() == 5);
  ColumnEncoder plain = e;
  plain.mode_z.clear();
  std::vector<double> xs = {-9.0, -4.5, -4.0, -1.2, 0.0, 0.7, 2.2, 4.9, 12.0};
  for (double z : e.mode_z) {  // at the thresholds and just either side
    const double x = e.value_at_score(z);
    for (double d : {-1e-6, 0.0, 1e-6}) xs.push_back(x + d);
  }
  for (size_t i = 0; i < 2000; ++i) xs.push_back(10 * math::rand_uniform(8, 0, i) - 5);
  double worst = 0;
  for (double x : xs) {
    INFO("x = ", x);
    double lj = 0, lp = 0;
    const double u = e.encode(x, &lj);
    const double z = plain.encode(x, &lp);
    REQUIRE(std::isfinite(u));
    REQUIRE(std::isfinite(lj));
    const int m = e.state_of(x);
    REQUIRE(m >= 0);
    REQUIRE(m < e.value_states());
    // The mode's mass times the within-mode density is the one-mode density, to rounding: the
    // split changes how a value is represented, never its score.
    const double a = m == 0 ? -INFINITY : e.mode_z[size_t(m - 1)];
    const double b = m == e.value_states() - 1 ? INFINITY : e.mode_z[size_t(m)];
    const double mass = 0.5 * std::erfc(-b / std::sqrt(2.0)) - 0.5 * std::erfc(-a / std::sqrt(2.0));
    const double split = std::log(mass) + log_normal(u) + lj, whole = log_normal(z) + lp;
    worst = std::max(worst, std::fabs(split - whole));
    CHECK(split == doctest::Approx(whole).epsilon(1e-9));
    // Inverse through the mode.
    CHECK(e.decode(u, m) == doctest::Approx(x).epsilon(1e-9));
    // Finite differences (away from a threshold: the map jumps to the next mode there, and u
    // runs to -+37 within a few 1e-6 of it).
    const double h = 1e-6;
    if (e.state_of(x - 1e-3) == m && e.state_of(x + 1e-3) == m) {
      double l1 = 0, l2 = 0;
      const double num = (e.encode(x + h, &l1) - e.encode(x - h, &l2)) / (2 * h);
      CHECK(lj == doctest::Approx(std::log(num)).epsilon(1e-5));
    }
  }
  INFO("largest |split - whole| score: ", worst);
  CHECK(worst < 1e-8);
  // Within-mode scores decode inside their mode; the farthest ones (beyond double's resolution
  // of the mode's edge) at most onto its threshold, never past it.
  for (int m = 0; m < e.value_states(); ++m) {
    for (double u : {-6.0, -1.0, 0.0, 1.0, 6.0}) CHECK(e.state_of(e.decode(u, m)) == m);
    const double lo = m == 0 ? -INFINITY : e.value_at_score(e.mode_z[size_t(m - 1)]);
    const double hi = m + 1 == e.value_states() ? INFINITY : e.value_at_score(e.mode_z[size_t(m)]);
    for (double u : {-30.0, -9.0, 9.0, 30.0}) {
      const double x = e.decode(u, m);
      CHECK(std::isfinite(x));
      CHECK(x >= lo - 1e-12);
      CHECK(x <= hi + 1e-12);
    }
  }
}

TEST_CASE("modes: decode_many / encode_many equal the scalar maps bit for bit, by each row's state") {
  const ColumnEncoder e = fit(grid_column(10000, 9));
  REQUIRE(e.value_states() == 5);
  std::vector<float> u;
  std::vector<int> states;  // row-major codes of two groups; this column is group 1
  std::vector<double> x;
  for (size_t i = 0; i < 5000; ++i) {
    u.push_back(float(2.5 * math::rand_normal(10, 0, i)));
    states.push_back(7);
    states.push_back(int(i % 6));  // 5 = not a value state: decodes as mode 0
    x.push_back(12 * math::rand_uniform(10, 1, i) - 6);
  }
  u.push_back(NAN);
  states.push_back(0);
  states.push_back(2);
  std::vector<double> dec(u.size());
  e.decode_many(u.data(), 1, u.size(), dec.data(), states.data() + 1, 2);
  for (size_t i = 0; i + 1 < u.size(); ++i) {
    const double s = e.decode(u[i], states[2 * i + 1]);
    REQUIRE(std::memcmp(&s, &dec[i], sizeof s) == 0);
  }
  CHECK(std::isnan(dec.back()));  // an overflowed flow stays NaN for the sampler to report
  std::vector<double> enc(x.size()), lj(x.size(), 0.0);
  e.encode_many(x.data(), x.size(), enc.data(), lj.data());
  for (size_t i = 0; i < x.size(); ++i) {
    double l = 0;
    const double s = e.encode(x[i], &l);
    REQUIRE(std::memcmp(&s, &enc[i], sizeof s) == 0);
    REQUIRE(std::memcmp(&l, &lj[i], sizeof l) == 0);
  }
}

TEST_CASE("modes: model files keep the thresholds, older files load with one mode, bad ones are refused") {
  const ColumnEncoder e = fit(grid_column(10000, 11));
  REQUIRE(e.value_states() == 5);
  nlohmann::json j = e;
  ColumnEncoder back = j.get<ColumnEncoder>();
  CHECK(back.mode_z == e.mode_z);
  j.erase("mode_z");
  CHECK(j.get<ColumnEncoder>().value_states() == 1);
  nlohmann::json bad = e;
  bad["mode_z"] = {0.5, 0.1};
  CHECK_THROWS_WITH_AS(bad.get<ColumnEncoder>(), doctest::Contains("mode thresholds not increasing"), ef::Error);
  bad["mode_z"] = std::vector<double>(20, 0.0);
  CHECK_THROWS_AS(bad.get<ColumnEncoder>(), ef::Error);
  bad = e;
  bad["marginal"] = "standardize";
  CHECK_THROWS_WITH_AS(bad.get<ColumnEncoder>(), doctest::Contains("modes on a column without a quantile map"), ef::Error);
}

TEST_CASE("modes: a fitted model's density integrates to one, and --given a value draws from its mode") {
  // a: two modes at -5 and +5; b follows a's mode. a is a conditional column, so --given a=v
  // must set a's state to v's mode (and u to v's score within it) for b to follow.
  const size_t n = 3000;  // 2,700 training rows: over the 2,000 values a split needs
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = (i % 2 ? 5.0 : -5.0) + 0.5 * math::rand_normal(40, 0, i);
    y[i] = (i % 2 ? 3.0 : -3.0) + 0.3 * math::rand_normal(40, 1, i);
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("a", x));
  t.columns.push_back(echoflow::Column::numeric("b", y));
  echoflow::FitOptions opt = eft::brief_fit(15);
  opt.flow.kind = FlowKind::NSFAR;
  opt.conditional = {"a"};
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  REQUIRE(m.schema()["columns"][0]["encoder"].get<std::string>() == "logit + quantile + 2 modes");
  // The density over a grid covering both columns' supports (the observed ranges widened by
  // 10%: nothing outside).
  const auto range = [&](const std::vector<double>& v) {
    const double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    return std::make_pair(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo));
  };
  const auto [x0, x1] = range(x);
  const auto [y0, y1] = range(y);
  const double mass = eft::grid_mass(m, x0, x1, y0, y1, 700);
  INFO("integral of the model's density: ", mass);
  CHECK(mass == doctest::Approx(1.0).epsilon(0.02));
  for (double v : {5.2, -4.8}) {
    const echoflow::Table s = m.sample(400, {{"a", v == 5.2 ? "5.2" : "-4.8"}}, 3);
    double my = 0;
    for (size_t r = 0; r < s.rows(); ++r) {
      REQUIRE(s.columns[0].values[r] == v);
      my += s.columns[1].values[r] / double(s.rows());
    }
    INFO("given a = ", v, ": mean b ", my);
    CHECK(my == doctest::Approx(v > 0 ? 3.0 : -3.0).epsilon(0.1));
  }
}
