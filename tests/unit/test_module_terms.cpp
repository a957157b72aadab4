// TabularModel::log_prob_terms and module_params, which early stopping per module relies on:
// the terms add up to log p exactly, every parameter belongs to exactly one module, and a
// module's term moves with its own parameters only.
#include <set>

#include "tabular_model.hpp"
#include "test_util.hpp"

using namespace ef;

TEST_CASE("tabular model: log p splits into module terms, each a function of its own parameters") {
  // Part 0 (block C): a categorical group and a continuous dim; part 1: two groups, two dims.
  TabularSpec ts;
  ts.flow.hidden = {8};
  ts.flow.layers = 2;
  ts.parts = {PartSpec{{3}, 1}, PartSpec{{2, 4}, 2}};
  ts.c_parts = 1;
  TabularModel<double> tm(ts);
  const int D = 3, M = tm.modules(), B = 4;  // 3 groups: codes (B, 3)
  REQUIRE(M == 4);
  std::vector<double> P(tm.num_params());
  tm.init(P.data());
  const auto noise = eft::randn(P.size(), 9, 0.3);
  for (size_t i = 0; i < P.size(); ++i) P[i] += noise[i];
  const auto U = eft::randn(size_t(B) * D, 10);
  const std::vector<int> codes{0, 1, 3, 2, 0, 0, 1, 1, 2, 0, 0, 1};
  TabularWorkspace<double> ws;
  std::vector<double> lp(B), terms(size_t(B) * M);
  tm.log_prob(P.data(), codes.data(), U.data(), B, lp.data(), ws);
  tm.log_prob_terms(P.data(), codes.data(), U.data(), B, terms.data(), ws);
  for (int r = 0; r < B; ++r) {
    double s = 0;
    for (int m = 0; m < M; ++m) s += terms[size_t(r) * M + m];
    CHECK(s == doctest::Approx(lp[r]).epsilon(1e-12));
  }

  // Every tensor in exactly one module.
  std::set<size_t> owned;
  size_t total = 0;
  for (int m = 0; m < M; ++m)
    for (auto [off, n] : tm.module_params(m)) {
      CHECK(owned.insert(off).second);
      total += n;
    }
  size_t all = 0;
  for (const ParamTensor& t : tm.layout().tensors()) all += t.size;
  CHECK(total == all);

  // Perturbing module m's parameters moves column m only.
  for (int m = 0; m < M; ++m) {
    std::vector<double> Q = P;
    for (auto [off, n] : tm.module_params(m))
      for (size_t i = 0; i < n; ++i) Q[off + i] += 0.05 * double((i % 7) + 1);
    std::vector<double> t2(size_t(B) * M);
    tm.log_prob_terms(Q.data(), codes.data(), U.data(), B, t2.data(), ws);
    bool moved = false;
    for (int r = 0; r < B; ++r)
      for (int k = 0; k < M; ++k) {
        const double d = std::abs(t2[size_t(r) * M + k] - terms[size_t(r) * M + k]);
        if (k == m)
          moved |= d > 1e-6;
        else
          CHECK(d == 0.0);
      }
    CHECK(moved);
  }
}
