// Fits, scores and samples an in-memory table through the installed headers and library.
#include <cmath>
#include <cstdio>
#include <echoflow/echoflow.hpp>

int main() {
  echoflow::Table t;
  std::vector<double> a, b;
  for (int i = 0; i < 1000; ++i) {
    a.push_back(std::sin(i * 0.37) * 3);
    b.push_back(a.back() * 0.5 + std::cos(i * 1.3));
  }
  t.columns = {echoflow::Column::numeric("a", a), echoflow::Column::numeric("b", b)};
  echoflow::FitOptions opt;
  opt.flow.hidden = {16};
  opt.flow.layers = 2;
  opt.train.epochs = 2;
  echoflow::Model m = echoflow::Model::fit(t, opt);
  const auto lp = m.score(t);
  const auto s = m.sample(10, {}, 1);
  if (!std::isfinite(lp[0]) || s.rows() != 10) return 1;
  std::printf("consumer: %s, log p(row 0) = %.3f\n", echoflow::version_string().c_str(), lp[0]);
  return 0;
}
