// Column encoders: exact log-Jacobians (finite differences), invertibility, bounds, atoms,
// quantile maps.
#include <algorithm>

#include "encoders.hpp"
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
  o.encoder = "standardize";
  check_jacobian_and_inverse(ColumnEncoder::fit_numeric("std", ColumnType::Continuous, data, 0, "", o),
                             {0.3, 5.0, 17.0, 400.0});
  o.encoder = "quantile";
  auto q = ColumnEncoder::fit_numeric("quantile", ColumnType::Continuous, data, 0, "", o);
  CHECK(q.marginal == Marginal::Quantile);
  // Points inside segments and in both tails (knots themselves are kinks).
  check_jacobian_and_inverse(q, {0.05, 3.3, 7.77, 12.1, 55.5, 1e4});
  o = ColumnOptions();
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

TEST_CASE("auto encoder rule: skewed -> quantile, symmetric -> standardize; atoms and integers") {
  ColumnOptions o;
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

TEST_CASE("normal_quantile inverts the normal CDF") {
  for (double p : {1e-6, 0.01, 0.2, 0.5, 0.77, 0.999}) {
    const double z = normal_quantile(p);
    CHECK(0.5 * std::erfc(-z / std::sqrt(2.0)) == doctest::Approx(p).epsilon(1e-9));
  }
}
