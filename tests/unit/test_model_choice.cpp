// Model choice by validation likelihood (host/model_choice.hpp): on tables where one candidate
// is clearly better, the brief fits must pick it, the full fit must be exactly the winner's
// (the same scores as fitting the winner's options directly), and the choice must be reported
// and kept by the model file.
#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "flow_math.hpp"
#include "test_util.hpp"

namespace {

// Two columns: 25 tight modes on a 5 x 5 grid (SDGym's grid kind).
echoflow::Table choice_grid(size_t n, uint64_t seed) {
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t c = ef::math::rand_u64(seed, 2, i) % 25;
    x[i] = -4.0 + 2.0 * double(c % 5) + 0.2 * ef::math::rand_normal(seed, 0, i);
    y[i] = -4.0 + 2.0 * double(c / 5) + 0.2 * ef::math::rand_normal(seed, 1, i);
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("x", std::move(x)));
  t.columns.push_back(echoflow::Column::numeric("y", std::move(y)));
  return t;
}

echoflow::FitOptions choice_options() {
  echoflow::FitOptions opt;
  opt.threads = 1;
  opt.flow.kind = ef::FlowKind::NSFAR;
  opt.flow.layers = 3;
  opt.flow.hidden = {32, 32};
  opt.train.epochs = 60;  // brief fits: 6 epochs each
  return opt;
}

}  // namespace

TEST_CASE("model choice: a 25-mode table chooses the spline flow over MAF, and the fit is the winner's") {
  const echoflow::Table t = choice_grid(2000, 3);
  echoflow::FitOptions opt = choice_options();
  opt.choose_flows = {ef::FlowKind::MAF, ef::FlowKind::NSFAR};
  // Standardized, the modes are the flow's to make: affine MAF layers cannot, splines can.
  opt.columns["x"].encoder = opt.columns["y"].encoder = "standardize";
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  const std::string& choice = m.training().choice;
  INFO(choice);
  CHECK(choice.rfind("chose nsf-ar (val NLL ", 0) == 0);
  CHECK(choice.find(" vs maf ") != std::string::npos);
  // The chosen model is a plain fit of the winner: same parameters, so the same scores.
  echoflow::FitOptions direct = choice_options();
  direct.columns = opt.columns;
  const echoflow::Model d = echoflow::Model::fit(t, direct);
  const std::vector<double> a = m.score(t), b = d.score(t);
  REQUIRE(a.size() == b.size());
  for (size_t r = 0; r < a.size(); r += 97) CHECK(a[r] == b[r]);
  CHECK(d.training().choice.empty());  // nothing to choose: no brief fits, nothing reported
  // The model file keeps the choice.
  const std::string path = std::string("model_choice_test_") + std::to_string(::getpid()) + ".efm";
  m.save(path);
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  CHECK(back.training().choice == choice);
}

TEST_CASE("model choice: a column with two far, tight modes keeps the quantile map over standardizing") {
  // x: modes at -50 and +50 with spread 1; standardized, each mode is 0.01 wide in the flow's
  // space, which a brief fit cannot sharpen; the quantile map spreads them over the normal.
  const size_t n = 2000;
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = (ef::math::rand_u64(7, 2, i) % 2 ? 50.0 : -50.0) + ef::math::rand_normal(7, 0, i);
    y[i] = ef::math::rand_normal(7, 1, i);
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("x", std::move(x)));
  t.columns.push_back(echoflow::Column::numeric("y", std::move(y)));
  echoflow::FitOptions opt = choice_options();
  opt.choose_encoders = true;
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  const std::string& choice = m.training().choice;
  INFO(choice);
  CHECK(choice.rfind("chose nsf-ar + auto encoders (val NLL ", 0) == 0);
  CHECK(choice.find(" vs nsf-ar + standardize ") != std::string::npos);
  // 1,800 training values: under the 2,000 a split into modes needs (host/encoders.cpp)
  CHECK(m.schema()["columns"][0]["encoder"].get<std::string>() == "logit + quantile");
  // A column pinned by the options is never a candidate: with both pinned there is no choice.
  opt.columns["x"].encoder = "quantile";
  opt.columns["y"].encoder = "standardize";
  CHECK(echoflow::Model::fit(t, opt).training().choice.empty());
}
