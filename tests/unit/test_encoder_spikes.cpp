// Point masses at spikes (host/encoders.cpp): a value repeated far more often than the values
// next to it is a point mass (a state of the categorical model), the peak of a smooth column is
// not, and a spike's tie to a categorical column survives into drawn rows.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "encoders.hpp"
#include "schema.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {

ColumnEncoder fit_column(const std::vector<double>& v, ColumnType type) {
  return ColumnEncoder::fit_numeric("x", type, v, 0, "", ColumnOptions());
}

// 20,000 hours a week: a rounded normal around 40 (its peak holds ~3% of the rows, under the
// 10% of a point mass), with 50 and 60 heaped and 99 a top code.
std::vector<double> hours() {
  std::vector<double> v;
  for (size_t i = 0; i < 20000; ++i)
    v.push_back(std::clamp(std::round(40 + 12 * math::rand_normal(7, 0, i)), 1.0, 98.0));
  for (size_t i = 0; i < 1500; ++i) v[i * 13] = 50;
  for (size_t i = 0; i < 800; ++i) v[i * 13 + 1] = 60;
  for (size_t i = 0; i < 60; ++i) v[i * 13 + 2] = 99;
  return v;
}

}  // namespace

TEST_CASE("spikes: heaped values and a top code are point masses, a smooth column's peak is not") {
  const ColumnEncoder e = fit_column(hours(), ColumnType::Integer);
  CHECK(e.atoms == std::vector<double>{50, 60, 99});
  CHECK(e.state_of(40) == 0);  // the smooth peak stays with the flow
  CHECK(!e.is_value_state(e.state_of(99)));
  // Without the heaps the column has no point mass at all.
  std::vector<double> smooth;
  for (size_t i = 0; i < 20000; ++i) smooth.push_back(std::round(40 + 12 * math::rand_normal(7, 0, i)));
  CHECK(fit_column(smooth, ColumnType::Integer).atoms.empty());
}

TEST_CASE("spikes: at least 3 times its neighbours' mean count, 30 rows and 0.1% of the values") {
  // 1..100, 100 rows each (10,000 values); 50 gets c rows. Its two neighbours on each side hold
  // 100 rows each, so c = 300 is a spike and 299 is not (300 is 2.9% of the rows: no 10% atom).
  for (int c : {299, 300}) {
    std::vector<double> v;
    for (int k = 1; k <= 100; ++k)
      for (int r = 0; r < (k == 50 ? c : 100); ++r) v.push_back(k);
    INFO("rows at 50: ", c);
    CHECK(fit_column(v, ColumnType::Integer).atoms.size() == (c == 300 ? 1u : 0u));
  }
  // A continuous column of distinct values (neighbours hold one row each): a repeated value is a
  // point mass from 30 rows on.
  for (int c : {29, 30}) {
    std::vector<double> v;
    for (int i = 0; i < 5000; ++i) v.push_back(0.001 * i);
    for (int r = 0; r < c; ++r) v[size_t(r) * 100] = 2.5005;
    INFO("rows at 2.5005: ", c);
    CHECK(fit_column(v, ColumnType::Continuous).atoms == (c == 30 ? std::vector<double>{2.5005} : std::vector<double>{}));
  }
  // 0.1% of 100,000 values is 100 rows: 99 repeats are no point mass there.
  for (int c : {99, 100}) {
    std::vector<double> v;
    for (int i = 0; i < 100000; ++i) v.push_back(0.001 * i);
    for (int r = 0; r < c; ++r) v[size_t(r) * 997] = 7.5005;
    INFO("rows at 7.5005 of 100,000: ", c);
    CHECK(fit_column(v, ColumnType::Continuous).atoms.size() == (c == 100 ? 1u : 0u));
  }
}

TEST_CASE("spikes: of two spikes side by side, the larger does not hide the smaller") {
  // 1..1000, 20 rows each, but 500 (200 rows) and 501 (160). Measured against 500, 501 is 2.5x
  // its neighbours' mean ((200 + 3 x 20) / 4); with 500 a point mass, 8x.
  std::vector<double> v;
  for (int k = 1; k <= 1000; ++k)
    for (int r = 0; r < (k == 500 ? 200 : k == 501 ? 160 : 20); ++r) v.push_back(k);
  CHECK(fit_column(v, ColumnType::Integer).atoms == std::vector<double>{500, 501});
}

TEST_CASE("spikes: a column needs 2,000 values for them") {
  // A 1,600-row table lost held-out likelihood to its spikes: below 2,000 values there are none.
  for (size_t n : {1999, 2000}) {
    std::vector<double> v;
    for (size_t i = 0; i < n; ++i) v.push_back(0.001 * double(i));
    for (size_t r = 0; r < 40; ++r) v[r * 37] = 1.0005;
    INFO("values: ", n);
    CHECK(fit_column(v, ColumnType::Continuous).atoms.size() == (n == 2000 ? 1u : 0u));
  }
}

TEST_CASE("spikes: at most 16 point masses, the most frequent, and a remainder for the flow") {
  // 20 spikes of 40 + k rows (k = 0..19), spread among distinct values: the 16 largest are kept.
  std::vector<double> v;
  for (int i = 0; i < 20000; ++i) v.push_back(0.01 * i);
  size_t at = 0;
  for (int k = 0; k < 20; ++k)
    for (int r = 0; r < 40 + k; ++r) v[at++ * 7] = 5.005 + 10 * k;
  const ColumnEncoder e = fit_column(v, ColumnType::Continuous);
  REQUIRE(e.atoms.size() == 16u);
  CHECK(e.atoms.front() == 45.005);
  CHECK(e.atoms.back() == 195.005);
}

TEST_CASE("spikes: drawn rows keep a heaped value's tie to a categorical column") {
  // capital-gain as in adult: 0 for most rows, a smooth spread of small gains, and 7688 for a
  // share of the high earners only. As a point mass, 7688 is a state the categorical model
  // learns with the label; left to the flow, drawn rows hit its cell (width 1 in a range of
  // thousands) almost never.
  const size_t n = 4000;
  std::vector<double> gain(n);
  std::vector<std::string> label(n);
  for (size_t i = 0; i < n; ++i) {
    const bool high = i % 4 == 0;
    label[i] = high ? "high" : "low";
    const double u = math::rand_uniform(11, 0, i);
    if (high && u < 0.16) gain[i] = 7688;
    else if (u < 0.7) gain[i] = 0;
    else gain[i] = std::round(std::exp(7 + 0.5 * math::rand_normal(11, 1, i)));
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("gain", gain, ColumnType::Integer));
  t.columns.push_back(echoflow::Column::categorical("label", label));
  const echoflow::Model m = echoflow::Model::fit(t, eft::brief_fit(30));
  const echoflow::Table s = m.sample(4000, {}, 5);
  double at_spike = 0, high_at_spike = 0;
  for (size_t r = 0; r < s.rows(); ++r) {
    if (s.columns[0].values[r] != 7688) continue;
    at_spike += 1;
    high_at_spike += s.columns[1].labels[r] == "high";
  }
  // Real rows: 4% at 7688 (under the 10% of a frequent value's point mass), every one "high".
  INFO("drawn rows at 7688: ", at_spike, ", of them high: ", high_at_spike);
  CHECK(at_spike / double(s.rows()) > 0.025);
  CHECK(at_spike / double(s.rows()) < 0.055);
  CHECK(high_at_spike >= 0.95 * at_spike);
}

TEST_CASE("spikes: eftrain info lists up to 5 point masses by value, more as a count and the 5 largest") {
  auto schema_of = [](const std::vector<std::pair<double, double>>& masses) {
    nlohmann::json pm = nlohmann::json::array();
    for (auto& [v, s] : masses) pm.push_back({{"value", v}, {"share", s}});
    nlohmann::json c = {{"name", "hours"}, {"type", "integer"}, {"encoder", "standardize"},
                        {"range", {1, 99}}, {"missing_rate", 0.0}, {"point_masses", pm}};
    return format_schema({{"columns", {c}}});
  };
  const std::string few = schema_of({{0, 0.92}, {99999, 0.0049}});
  INFO(few);
  CHECK(few.find(" 0 (92%), 99999 (0.5%) ") != std::string::npos);
  const std::string many = schema_of({{10, 0.01}, {20, 0.04}, {30, 0.035}, {40, 0.47}, {45, 0.06},
                                      {50, 0.09}, {60, 0.05}});
  INFO(many);
  CHECK(many.find(" 7: 40 (47%), 50 (9%), 45 (6%), 60 (5%), 20 (4%), ... ") != std::string::npos);
}
