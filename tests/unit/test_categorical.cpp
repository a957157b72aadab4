// CategoricalMade: gradients against finite differences, the autoregressive property, and exact
// normalization (the probabilities of all code combinations sum to 1).
#include "categorical_made.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {
struct Cat {
  ParamLayout layout;
  CategoricalMade<double> made;
  std::vector<double> P;
  Cat(std::vector<int> levels, int C, Degrees deg)
      : made(levels, C, {10, 9}, Activation::Tanh, deg, 3, layout, "cat") {
    P.assign(layout.total(), 0.0);
    made.init(P.data());
    auto noise = eft::randn(P.size(), 8, 0.5);
    for (size_t i = 0; i < P.size(); ++i) P[i] = P[i] != 0 ? P[i] * 20 + noise[i] : 0.0;
    const auto& m = made.mlp();
    for (int l = 0; l < m.num_layers(); ++l)
      for (int j = 0; j < m.sizes()[l + 1]; ++j) P[m.bias_offset(l) + j] = noise[m.bias_offset(l) + j];
  }
};
}  // namespace

TEST_CASE("categorical MADE backward matches finite differences (params and context)") {
  Cat c({3, 2, 4}, 2, Degrees::Random);
  const int B = 4, G = 3, C = 2;
  std::vector<int> codes{0, 1, 3, 2, 0, 0, 1, 1, 2, 2, 0, 1};
  auto ctx = eft::randn(size_t(B) * C, 9);
  auto W = eft::randn(B, 10);
  auto loss = [&](const std::vector<double>& p, const std::vector<double>& k) {
    CatCache<double> cc;
    std::vector<double> lp(B, 0.0);
    c.made.forward(p.data(), codes.data(), k.data(), B, lp.data(), cc);
    double s = 0;
    for (int r = 0; r < B; ++r) s += W[r] * lp[r];
    return s;
  };
  CatCache<double> cc;
  std::vector<double> lp(B, 0.0), g(c.P.size(), 0.0), gc(ctx.size(), 0.0);
  c.made.forward(c.P.data(), codes.data(), ctx.data(), B, lp.data(), cc);
  c.made.backward(c.P.data(), W.data(), B, g.data(), gc.data(), cc);
  const auto skip = eft::masked_coords({&c.made.mlp()}, c.P.size());
  eft::check_gradient([&](const std::vector<double>& p) { return loss(p, ctx); }, c.P, g, "param", 1, &skip);
  eft::check_gradient([&](const std::vector<double>& k) { return loss(c.P, k); }, ctx, gc, "context");
  (void)G;
}

TEST_CASE("categorical MADE is autoregressive and exactly normalized") {
  for (Degrees deg : {Degrees::Sequential, Degrees::Random}) {
    Cat c({3, 2, 4}, 1, deg);
    const std::vector<double> ctx{0.7};
    // Sum over all 24 combinations of exp(log p) = 1.
    double total = 0;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 2; ++b)
        for (int d = 0; d < 4; ++d) {
          std::vector<int> code{a, b, d};
          CatCache<double> cc;
          double lp = 0;
          c.made.forward(c.P.data(), code.data(), ctx.data(), 1, &lp, cc);
          total += std::exp(lp);
        }
    CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
    // Logits of group g do not change when codes of groups >= g change.
    auto logits = [&](std::vector<int> code) {
      CatCache<double> cc;
      double lp = 0;
      c.made.forward(c.P.data(), code.data(), ctx.data(), 1, &lp, cc);
      return cc.logits;
    };
    const auto base = logits({0, 0, 0});
    const auto ch2 = logits({0, 0, 3});  // change group 2: logits of groups 0..2 fixed
    const auto ch1 = logits({0, 1, 0});  // change group 1: logits of groups 0..1 fixed
    for (int k = 0; k < 9; ++k) CHECK(ch2[k] == base[k]);
    for (int k = 0; k < 5; ++k) CHECK(ch1[k] == base[k]);
    bool later_changed = false;
    for (int k = 5; k < 9; ++k) later_changed |= ch1[k] != base[k];
    CHECK(later_changed);
  }
}

TEST_CASE("categorical MADE sampling follows its probabilities") {
  Cat c({3, 2}, 0, Degrees::Sequential);
  const int n = 40000;
  std::vector<int> codes(size_t(n) * 2);
  CatCache<double> cc;
  c.made.sample(c.P.data(), nullptr, n, 5, 1, 0, nullptr, codes.data(), cc);
  std::vector<double> freq(6, 0.0);
  for (int r = 0; r < n; ++r) freq[codes[2 * r] * 2 + codes[2 * r + 1]] += 1.0 / n;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 2; ++b) {
      std::vector<int> code{a, b};
      CatCache<double> c2;
      double lp = 0;
      c.made.forward(c.P.data(), code.data(), nullptr, 1, &lp, c2);
      INFO("combination ", a, ",", b);
      const double p = std::exp(lp), se = std::sqrt(p * (1 - p) / n);
      CHECK(std::fabs(freq[a * 2 + b] - p) <= 4 * se + 1e-4);
    }
}
