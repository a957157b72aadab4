// Column encoders: exact log-Jacobians (finite differences), invertibility, bounds, atoms,
// quantile maps.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "encoders.hpp"
#include "error.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {
std::vector<double> skewed(size_t n) {  // log-normal-ish, strongly right-skewed
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(std::exp(1.2 * math::rand_normal(4, 0, i)) * 10);
  return v;
}
void check_jacobian_and_inverse(const ColumnEncoder& e, const std::vector<double>& xs) {
  for (double x : xs) {
    double lj = 0;
    const double u = e.encode(x, &lj);
    REQUIRE(std::isfinite(lj));
    const double h = 1e-6 * (1 + std::fabs(x));
    double l1 = 0, l2 = 0;
    const double num = (e.encode(x + h, &l1) - e.encode(x - h, &l2)) / (2 * h);
    INFO(e.name, " at x=", x);
    CHECK(lj == doctest::Approx(std::log(num)).epsilon(1e-5));
    if (e.type == ColumnType::Continuous) CHECK(e.decode(u) == doctest::Approx(x).epsilon(1e-9));
  }
}
}  // namespace

TEST_CASE("standardize, log, logit and quantile encoders have exact log-Jacobians and inverses") {
  const auto data = skewed(5000);
  ColumnOptions o;
  o.support = Support::Unbounded;  // the maps themselves, tails included
  o.encoder = "standardize";
  check_jacobian_and_inverse(ColumnEncoder::fit_numeric("std", ColumnType::Continuous, data, 0, "", o),
                             {0.3, 5.0, 17.0, 400.0});
  o.encoder = "quantile";
  auto q = ColumnEncoder::fit_numeric("quantile", ColumnType::Continuous, data, 0, "", o);
  CHECK(q.marginal == Marginal::Quantile);
  // Points inside segments and in both tails (knots themselves are kinks).
  check_jacobian_and_inverse(q, {0.05, 3.3, 7.77, 12.1, 55.5, 1e4});
  o = ColumnOptions();
  o.support = Support::Unbounded;
  o.has_min = true;
  o.min = 0;
  auto lg = ColumnEncoder::fit_numeric("log", ColumnType::Continuous, data, 0, "", o);
  CHECK(lg.bound == BoundMap::Log);
  check_jacobian_and_inverse(lg, {0.01, 1.0, 30.0, 900.0});
  o.has_max = true;
  o.max = 5000;
  auto lt = ColumnEncoder::fit_numeric("logit", ColumnType::Continuous, data, 0, "", o);
  CHECK(lt.bound == BoundMap::Logit);
  check_jacobian_and_inverse(lt, {0.01, 1.0, 30.0, 4999.0});
  // Outside the bounds: zero density (logj = -inf); decode never leaves them.
  double lj = 0;
  lt.encode(-1.0, &lj);
  CHECK(lj == -INFINITY);
  for (double u : {-40.0, -3.0, 0.0, 3.0, 40.0}) {
    CHECK(lt.decode(u) >= 0.0);
    CHECK(lt.decode(u) <= 5000.0);
    CHECK(lg.decode(u) >= 0.0);
  }
}

TEST_CASE("auto encoder rule: skewed -> quantile, symmetric -> standardize, atoms and integers") {
  ColumnOptions o;
  // The rule on the raw values (an observed-support logit map would first make a log-normal
  // column near-normal, as a log map does).
  o.support = Support::Unbounded;
  CHECK(ColumnEncoder::fit_numeric("s", ColumnType::Continuous, skewed(3000), 0, "", o).marginal == Marginal::Quantile);
  std::vector<double> sym;
  for (int i = 0; i < 3000; ++i) sym.push_back(math::rand_normal(1, 2, i));
  CHECK(ColumnEncoder::fit_numeric("n", ColumnType::Continuous, sym, 0, "", o).marginal == Marginal::Standardize);
  // A value holding >= 10% of rows becomes a point mass; missing values add a state.
  std::vector<double> gain(1000, 0.0);
  for (int i = 0; i < 150; ++i) gain[i] = 1000 + i * 37;
  auto e = ColumnEncoder::fit_numeric("gain", ColumnType::Integer, gain, 20, "?", o);
  REQUIRE(e.atoms.size() == 1);
  CHECK(e.atoms[0] == 0.0);
  CHECK(e.group_levels() == 3);  // value, atom 0, missing
  CHECK(e.state_of(0.0) == 1);
  CHECK(e.state_of(1037.0) == 0);
  CHECK(e.missing_code() == 2);
  // Integers decode to whole numbers inside the declared bounds.
  ColumnOptions b;
  b.has_min = true;
  b.min = 1;
  b.has_max = true;
  b.max = 9;
  std::vector<double> ints;
  for (int i = 0; i < 500; ++i) ints.push_back(1 + i % 9);
  auto ie = ColumnEncoder::fit_numeric("k", ColumnType::Integer, ints, 0, "", b);
  for (double u = -6; u <= 6; u += 0.37) {
    const double x = ie.decode(u);
    CHECK(x == std::floor(x));
    CHECK(x >= 1);
    CHECK(x <= 9);
  }
}

TEST_CASE("observed support: a logit map onto the widened observed range, exact and never left") {
  const auto data = skewed(5000);  // all > 0
  const double a = *std::min_element(data.begin(), data.end()), b = *std::max_element(data.begin(), data.end());
  for (const char* enc : {"auto", "standardize", "quantile"}) {
    INFO("encoder ", enc);
    ColumnOptions o;  // default: observed support, margin 0.1
    o.encoder = enc;
    const auto e = ColumnEncoder::fit_numeric("price", ColumnType::Continuous, data, 0, "", o);
    CHECK(e.bound == BoundMap::Logit);
    CHECK(e.observed_support);
    // The widening (0.1 of the range) would cross 0: a positive column stops at 0.
    CHECK(e.min == 0.0);
    CHECK(e.max == doctest::Approx(b + 0.1 * (b - a)).epsilon(1e-12));
    // (a and b themselves are knots of the quantile map: kinks)
    check_jacobian_and_inverse(e, {a * 1.001, 0.3, 5.0, 17.0, 400.0, b * 0.999, b + 0.04 * (b - a)});
    double lj = 0;
    e.encode(b + 0.11 * (b - a), &lj);
    CHECK(lj == -INFINITY);  // outside the support: zero density
    lj = 0;
    e.encode(0.0, &lj);
    CHECK(lj == -INFINITY);
    // The quantile map's linear tails no longer leave the range (they put samples 50% above
    // the max before).
    for (double u = -30; u <= 30; u += 0.25) {
      const double x = e.decode(u);
      CHECK(x > 0.0);
      CHECK(x <= e.max);
    }
  }
  // Margin 0: exactly the observed range (up to a relative 1e-9, so the ends stay inside).
  ColumnOptions exact;
  exact.support_margin = 0;
  const auto ex = ColumnEncoder::fit_numeric("price", ColumnType::Continuous, data, 0, "", exact);
  CHECK(ex.min < a);
  CHECK(ex.min > a - 1e-6 * b);
  CHECK(ex.max > b);
  CHECK(ex.max < b + 1e-6 * b);
  // A negative column never reaches 0; a column across 0 widens both ways.
  std::vector<double> neg, mixed;
  for (double v : data) neg.push_back(-v);
  for (size_t i = 0; i < data.size(); ++i) mixed.push_back(i % 2 ? data[i] : -data[i] / 10);
  const auto en = ColumnEncoder::fit_numeric("neg", ColumnType::Continuous, neg, 0, "", ColumnOptions());
  CHECK(en.max == 0.0);
  CHECK(en.min == doctest::Approx(-b - 0.1 * (b - a)).epsilon(1e-12));
  const auto em = ColumnEncoder::fit_numeric("mixed", ColumnType::Continuous, mixed, 0, "", ColumnOptions());
  CHECK(em.min < *std::min_element(mixed.begin(), mixed.end()));
  CHECK(em.max > *std::max_element(mixed.begin(), mixed.end()));
  // range_values (every row) widens the support beyond the training values.
  std::vector<double> all = data;
  all.push_back(2 * b);
  const auto er = ColumnEncoder::fit_numeric("price", ColumnType::Continuous, data, 0, "", ColumnOptions(), &all);
  double lj = 0;
  er.encode(2 * b, &lj);
  CHECK(std::isfinite(lj));
}

TEST_CASE("point masses: counts, order by frequency, and the sign of a zero atom") {
  ColumnOptions o;
  o.support = Support::Unbounded;
  // 3.5 (30%), 0 as -0.0 then 0.0 (20%), 7 (12%); 1.5 (29 rows) is no atom (a spike needs 30);
  // the rest distinct.
  auto column = [](double first_zero) {
    std::vector<double> v;
    for (int i = 0; i < 1000; ++i) v.push_back(0.001 * i + 10);
    for (int i = 0; i < 300; ++i) v[size_t(i * 3)] = 3.5;
    for (int i = 0; i < 200; ++i) v[size_t(i * 3 + 1)] = i == 0 ? first_zero : (i % 2 ? -0.0 : 0.0);
    for (int i = 0; i < 120; ++i) v[size_t(i * 3 + 2)] = 7.0;
    for (int i = 0; i < 29; ++i) v[size_t(900 + i * 2)] = 1.5;
    return v;
  };
  for (double z : {-0.0, 0.0}) {
    const auto e = ColumnEncoder::fit_numeric("c", ColumnType::Continuous, column(z), 0, "", o);
    REQUIRE(e.atoms.size() == 3);
    CHECK(e.atoms[0] == 0.0);
    CHECK(std::signbit(e.atoms[0]) == std::signbit(z));  // the first zero's sign, as a map's key
    CHECK(e.atoms[1] == 3.5);
    CHECK(e.atoms[2] == 7.0);
    CHECK(e.state_of(1.5) == 0);
  }
}

TEST_CASE("observed support: integers keep whole-unit bounds, atoms, declared min, switch off") {
  // 0..16: the default margin (0.1 * 16 / 2 < 1 unit) keeps exactly 0..16.
  std::vector<double> ints;
  for (int i = 0; i < 2000; ++i) ints.push_back(std::clamp(std::round(8 + 3 * math::rand_normal(5, 0, i)), 0.0, 16.0));
  const auto e = ColumnEncoder::fit_numeric("k", ColumnType::Integer, ints, 0, "", ColumnOptions());
  CHECK(e.bound == BoundMap::Logit);
  CHECK(e.min == 0.0);
  CHECK(e.max == 17.0);  // cell bound: k + v, v in (0, 1)
  for (double u = -40; u <= 40; u += 0.1) {
    const double x = e.decode(u);
    CHECK(x == std::floor(x));
    CHECK(x >= 0);
    CHECK(x <= 16);
  }
  // A wider margin adds whole units, but never below 0 for a non-negative column.
  ColumnOptions wide;
  wide.support_margin = 0.5;
  const auto ew = ColumnEncoder::fit_numeric("k", ColumnType::Integer, ints, 0, "", wide);
  CHECK(ew.min == 0.0);
  CHECK(ew.max == 16.0 + 4.0 + 1.0);
  // Values all >= 1 (hours per week): the widening (4 units) stops at 1, never reaching 0.
  std::vector<double> hours;
  for (int i = 0; i < 990; ++i) hours.push_back(1 + i % 99);
  const auto eh = ColumnEncoder::fit_numeric("hours", ColumnType::Integer, hours, 0, "", ColumnOptions());
  CHECK(eh.min == 1.0);
  CHECK(eh.max == 99.0 + 4.0 + 1.0);
  CHECK(eh.decode(-40) == 1.0);
  // Atoms are drawn exactly; the interval covers the remainder only (500 .. 4387 here: a 0 atom
  // does not stretch it down to 0).
  std::vector<double> gain(1000, 0.0);
  for (int i = 0; i < 300; ++i) gain[i] = 500 + 13.0 * i;
  const auto eg = ColumnEncoder::fit_numeric("gain", ColumnType::Continuous, gain, 0, "", ColumnOptions());
  REQUIRE(eg.atoms.size() == 1);
  CHECK(eg.min == doctest::Approx(500 - 0.1 * 13.0 * 299));
  CHECK(eg.max == doctest::Approx(500 + 13.0 * 299 + 0.1 * 13.0 * 299));
  // A declared min keeps its end; the max side is observed.
  ColumnOptions dm;
  dm.has_min = true;
  dm.min = -100;
  const auto ed = ColumnEncoder::fit_numeric("d", ColumnType::Integer, ints, 0, "", dm);
  CHECK(ed.bound == BoundMap::Logit);
  CHECK(ed.min == -100.0);
  CHECK(ed.max == 17.0);
  // Unbounded: the encoder of before (no bound map, plain moments).
  ColumnOptions off;
  off.support = Support::Unbounded;
  const auto eo = ColumnEncoder::fit_numeric("k", ColumnType::Integer, ints, 0, "", off);
  CHECK(eo.bound == BoundMap::None);
  CHECK_FALSE(eo.observed_support);
  std::vector<double> rest;  // values outside the atoms (the most frequent counts)
  for (double v : ints)
    if (eo.state_of(v) == 0) rest.push_back(v + 0.5);
  double m = 0, ss = 0;
  for (double v : rest) m += v / double(rest.size());
  for (double v : rest) ss += (v - m) * (v - m);
  CHECK(eo.mean == doctest::Approx(m).epsilon(1e-12));
  CHECK(eo.sd == doctest::Approx(std::sqrt(ss / double(rest.size() - 1) + 1.0 / 12)).epsilon(1e-12));
  CHECK(eo.decode(40) > 16);  // samples may leave the observed range
}

TEST_CASE("huge values: moments do not overflow, statistics are finite or the column is refused") {
  // Values around 1e170: squares overflow double, so naive moments gave an infinite sd that was
  // stored as null and made the model unloadable.
  std::vector<double> big;
  for (int i = 0; i < 3000; ++i) big.push_back(1e170 * (3 + math::rand_normal(6, 0, i)));
  for (Support sp : {Support::Observed, Support::Unbounded}) {
    INFO("support ", to_string(sp));
    ColumnOptions o;
    o.support = sp;
    const auto e = ColumnEncoder::fit_numeric("big", ColumnType::Continuous, big, 0, "", o);
    CHECK(std::isfinite(e.mean));
    CHECK(std::isfinite(e.sd));
    if (sp == Support::Unbounded) CHECK(e.sd == doctest::Approx(1e170).epsilon(0.1));
    check_jacobian_and_inverse(e, {1e170, 3e170, 5e170});
    // What is written is read back identically.
    const nlohmann::json j = e;
    const ColumnEncoder back = nlohmann::json::parse(j.dump()).get<ColumnEncoder>();
    CHECK(nlohmann::json(back) == j);
  }
  // Values spanning [-1.5e308, 1.5e308]: the range itself overflows; the observed support
  // refuses the column by name, the unbounded standardizer still has a finite scale.
  std::vector<double> span;
  for (int i = 0; i < 1000; ++i) span.push_back(1.5e308 * (2 * (i / 999.0) - 1));
  ColumnOptions sd_only;
  CHECK_THROWS_WITH_AS(ColumnEncoder::fit_numeric("span", ColumnType::Continuous, span, 0, "", sd_only),
                       doctest::Contains("column \"span\": values span"), ef::Error);
  sd_only.support = Support::Unbounded;
  sd_only.encoder = "standardize";
  const auto es = ColumnEncoder::fit_numeric("span", ColumnType::Continuous, span, 0, "", sd_only);
  CHECK(std::isfinite(es.sd));
  // A header holding null or a non-finite statistic is refused on load, naming the column.
  nlohmann::json j = es;
  j["sd"] = nullptr;
  CHECK_THROWS(j.get<ColumnEncoder>());
  j = es;
  j["max"] = 1e308;
  j["min"] = -1e308;
  j["bound"] = "logit";
  CHECK_THROWS_WITH_AS(j.get<ColumnEncoder>(), doctest::Contains("column \"span\": bad bounds"), ef::Error);
}

TEST_CASE("model files without observed_support load with their declared-bounds behaviour") {
  ColumnOptions o;
  o.support = Support::Unbounded;
  o.has_min = true;
  o.min = 1;
  o.has_max = true;
  o.max = 9;
  std::vector<double> ints;
  // 1..9, the middle values most often: 1, 2, 8 and 9 (under 10% each) stay with the flow.
  for (int i = 0; i < 500; ++i) ints.push_back(std::clamp(std::round(5 + 2 * math::rand_normal(9, 0, i)), 1.0, 9.0));
  nlohmann::json j = ColumnEncoder::fit_numeric("k", ColumnType::Integer, ints, 0, "", o);
  j.erase("observed_support");  // as written by earlier builds
  const ColumnEncoder e = j.get<ColumnEncoder>();
  CHECK_FALSE(e.observed_support);
  CHECK(e.bound == BoundMap::Logit);
  CHECK(e.decode(-50) == 1);
  CHECK(e.decode(50) == 9);
}

TEST_CASE("quantile map: end knots keep heavy-tailed extremes near +-4 normal scores") {
  // Cauchy: the extremes are ~1000x the quartiles. With only the 1/sd linear tail they were
  // encoded to u in the hundreds (thousands of nats too low); end knots at the smallest and
  // largest value put them at Phi^-1(1/2n) and Phi^-1(1 - 1/2n).
  std::vector<double> c;
  for (int i = 0; i < 20000; ++i) c.push_back(std::tan(M_PI * (math::rand_uniform(8, 0, i) - 0.5)));
  const double lo = *std::min_element(c.begin(), c.end()), hi = *std::max_element(c.begin(), c.end());
  for (Support sp : {Support::Observed, Support::Unbounded}) {
    INFO("support ", to_string(sp));
    ColumnOptions o;
    o.support = sp;
    const auto e = ColumnEncoder::fit_numeric("cauchy", ColumnType::Continuous, c, 0, "", o);
    REQUIRE(e.marginal == Marginal::Quantile);
    double lj = 0;
    CHECK(e.encode(lo, &lj) == doctest::Approx(normal_quantile(0.5 / 20000)).epsilon(1e-9));
    CHECK(e.encode(hi, &lj) == doctest::Approx(normal_quantile(1 - 0.5 / 20000)).epsilon(1e-9));
    CHECK(std::isfinite(lj));
    check_jacobian_and_inverse(e, {-50.5, -1.3, 0.2, 3.7, 123.4});
  }
}

TEST_CASE("normal_quantile inverts the normal CDF") {
  for (double p : {1e-6, 0.01, 0.2, 0.5, 0.77, 0.999}) {
    const double z = normal_quantile(p);
    CHECK(0.5 * std::erfc(-z / std::sqrt(2.0)) == doctest::Approx(p).epsilon(1e-9));
  }
}

TEST_CASE("decode_many and encode_many give the scalar maps' doubles, bit for bit") {
  // Every map kind: standardize or quantile, none / log / logit bounds (declared or observed),
  // continuous or integer; values inside, outside and exactly at the knots, the bounds and beyond.
  const auto data = skewed(20000);
  std::vector<ColumnEncoder> encs;
  for (const char* marginal : {"standardize", "quantile"})
    for (int bounds = 0; bounds < 4; ++bounds)
      for (ColumnType type : {ColumnType::Continuous, ColumnType::Integer}) {
        ColumnOptions o;
        o.encoder = marginal;
        o.support = bounds == 3 ? Support::Observed : Support::Unbounded;
        if (bounds >= 1 && bounds <= 2) { o.has_min = true; o.min = 0; }
        if (bounds == 2) { o.has_max = true; o.max = 5000; }
        std::vector<double> v = data;
        if (type == ColumnType::Integer)
          for (double& x : v) x = std::floor(x);
        encs.push_back(ColumnEncoder::fit_numeric(marginal, type, v, 0, "", o));
      }
  size_t quantile = 0;
  for (const ColumnEncoder& e : encs) {
    INFO(e.name, " bound ", int(e.bound), " type ", to_string(e.type));
    quantile += e.marginal == Marginal::Quantile;
    std::vector<double> x;
    std::vector<float> u;
    for (size_t i = 0; i < 30000; ++i) {
      x.push_back(std::exp(1.5 * math::rand_normal(9, 0, i)) * 10 - (i % 7 == 0 ? 20 : 0));
      u.push_back(float(2.5 * math::rand_normal(9, 1, i)));
    }
    for (double k : e.qx) x.push_back(k);
    for (double k : e.qz) u.push_back(float(k));
    for (double k : e.qz) u.push_back(float(std::nextafter(k, 1e9)));
    x.insert(x.end(), {e.min, e.max, -1e300, 1e300, 0.0});
    u.insert(u.end(), {-1e30f, 1e30f, 0.0f, 40.0f, -40.0f});
    std::vector<double> dec(u.size()), enc(x.size()), lj(x.size(), 0.0);
    e.decode_many(u.data(), 1, u.size(), dec.data());
    e.encode_many(x.data(), x.size(), enc.data(), lj.data());
    for (size_t i = 0; i < u.size(); ++i) {
      const double s = e.decode(u[i]);
      REQUIRE(std::memcmp(&s, &dec[i], sizeof s) == 0);
    }
    for (size_t i = 0; i < x.size(); ++i) {
      double l = 0;
      const double s = e.encode(x[i], &l);
      REQUIRE(std::memcmp(&s, &enc[i], sizeof s) == 0);
      REQUIRE(std::memcmp(&l, &lj[i], sizeof l) == 0);
    }
    // A strided chunk (the sampler's row-major u): every third value.
    std::vector<double> strided(u.size() / 3);
    e.decode_many(u.data(), 3, strided.size(), strided.data());
    for (size_t i = 0; i < strided.size(); ++i) {
      const double s = e.decode(u[3 * i]);
      REQUIRE(std::memcmp(&s, &strided[i], sizeof s) == 0);
    }
  }
  CHECK(quantile >= 6);  // the quantile maps were fitted, not skipped
}

TEST_CASE("quantile map: knots far enough apart that held-out rows pay little for slope noise") {
  // The quantile map alone, u ~ N(0, 1), is a density: log N(u(x)) + log|du/dx|. Fitted on 10,000
  // rows of a 3-mode mixture, it scores 50,000 held-out rows. A segment spanning m training values
  // has a slope estimated from m values, and held-out rows lose about 1/(2m) nats to that noise,
  // which the flow on top does not learn back: knots every 10 rows lost 0.046 nats here, every 25
  // rows about 0.02 (the rest is the piecewise-linear bias).
  auto draw = [](size_t n, uint64_t seed) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) {
      const double c = math::rand_uniform(seed, 0, i), z = math::rand_normal(seed, 1, i);
      v[i] = c < 0.3 ? -3 + 0.5 * z : c < 0.8 ? z : 4 + 0.3 * z;
    }
    return v;
  };
  auto log_true = [](double x) {
    auto n = [](double y, double m, double s) {
      return std::exp(-0.5 * (y - m) * (y - m) / (s * s)) / (s * std::sqrt(2 * M_PI));
    };
    return std::log(0.3 * n(x, -3, 0.5) + 0.5 * n(x, 0, 1) + 0.2 * n(x, 4, 0.3));
  };
  ColumnOptions o;
  o.encoder = "quantile";
  o.support = Support::Unbounded;  // the quantile map alone
  const auto e = ColumnEncoder::fit_numeric("mix", ColumnType::Continuous, draw(10000, 21), 0, "", o);
  REQUIRE(e.marginal == Marginal::Quantile);
  double gap = 0;
  const std::vector<double> held = draw(50000, 22);
  for (double x : held) {
    double lj = 0;
    const double u = e.encode(x, &lj);
    REQUIRE(std::isfinite(lj));
    gap += log_true(x) - (-0.5 * u * u - 0.5 * std::log(2 * M_PI) + lj);
  }
  gap /= double(held.size());
  INFO("held-out nats lost by the quantile map: ", gap);
  CHECK(gap > 0);  // no map beats the true density on average over this many rows
  CHECK(gap < 0.032);
}

TEST_CASE("quantile map: a gap between two modes gets almost no mass, on continuous columns only") {
  // Two modes 20 apart, 2000 rows: the segment spanning the gap held 1/K of the mass (K = 80
  // knots: 1.25%), spread evenly over the empty space, so that share of draws fell between the
  // modes. Knots on both sides of the gap leave it 1/(n-1).
  std::vector<double> v;
  for (int i = 0; i < 2000; ++i) v.push_back((i % 2 ? 10 : -10) + math::rand_normal(31, 0, uint64_t(i)));
  ColumnOptions o;
  o.encoder = "quantile";
  o.support = Support::Unbounded;
  const auto e = ColumnEncoder::fit_numeric("gap", ColumnType::Continuous, v, 0, "", o);
  REQUIRE(e.marginal == Marginal::Quantile);
  int between = 0;
  const int draws = 100000;
  for (int i = 0; i < draws; ++i)
    if (std::fabs(e.decode(math::rand_normal(32, 0, uint64_t(i)))) < 5) ++between;
  INFO("draws between the modes: ", between);
  CHECK(between < draws * 0.002);
  check_jacobian_and_inverse(e, {-12.3, -9.1, -3.0, 0.5, 4.9, 10.2});
  // Integer columns keep the regular knots (their values spread over whole cells when trained,
  // so a squeezed segment would hold dequantized training values): 0..999 and 5000..5999, once
  // each; knots around the gap would be 1/1999 apart in probability (0.0013 normal scores).
  std::vector<double> k;
  for (int i = 0; i < 2000; ++i) k.push_back(i < 1000 ? i : 4000 + i);
  const auto ei = ColumnEncoder::fit_numeric("count", ColumnType::Integer, k, 0, "", o);
  REQUIRE(ei.marginal == Marginal::Quantile);
  for (size_t j = 1; j < ei.qx.size(); ++j) CHECK(ei.qz[j] - ei.qz[j - 1] > 0.01);
}
