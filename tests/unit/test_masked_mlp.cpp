// MaskedMLP: backward against finite differences; masked weights stay exactly zero.
#include "masked_mlp.hpp"
#include "test_util.hpp"

using ef::Activation;
using ef::MaskedMLP;

namespace {
MaskedMLP<double> make_mlp(ef::ParamLayout& lay, Activation act) {
  std::vector<int> sizes{5, 7, 6, 4};
  std::vector<std::vector<double>> masks;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    std::vector<double> m(size_t(sizes[l]) * sizes[l + 1]);
    for (size_t i = 0; i < m.size(); ++i) m[i] = (i * 7 + l) % 3 == 0 ? 0.0 : 1.0;
    masks.push_back(m);
  }
  return MaskedMLP<double>(sizes, masks, act, lay, "t");
}
}  // namespace

TEST_CASE("MaskedMLP backward matches finite differences (params and inputs)") {
  for (Activation act : {Activation::Tanh, Activation::ReLU}) {
    ef::ParamLayout lay;
    auto mlp = make_mlp(lay, act);
    std::vector<double> P(lay.total());
    mlp.init(P.data(), 3, 1.0);
    // Random biases too, so every term of backward is exercised.
    for (int l = 0; l < mlp.num_layers(); ++l)
      for (int j = 0; j < mlp.sizes()[l + 1]; ++j) P[mlp.bias_offset(l) + j] = 0.1 * (j % 5) - 0.2;
    const int B = 4;
    auto X = eft::randn(size_t(B) * 5, 11);
    auto G = eft::randn(size_t(B) * 4, 12);  // dL/dY
    auto loss = [&](const std::vector<double>& p, const std::vector<double>& x) {
      ef::MlpCache<double> c;
      std::vector<double> Y(size_t(B) * 4);
      mlp.forward(p.data(), x.data(), B, c, Y.data());
      double s = 0;
      for (size_t i = 0; i < Y.size(); ++i) s += G[i] * Y[i];
      return s;
    };
    ef::MlpCache<double> c, scratch;
    std::vector<double> Y(size_t(B) * 4), gP(P.size(), 0.0), gX(X.size());
    mlp.forward(P.data(), X.data(), B, c, Y.data());
    mlp.backward(P.data(), c, G.data(), B, gP.data(), gX.data(), scratch);
    const auto skip = eft::masked_coords({&mlp}, P.size());
    eft::check_gradient([&](const std::vector<double>& p) { return loss(p, X); }, P, gP, "param", 1, &skip);
    eft::check_gradient([&](const std::vector<double>& x) { return loss(P, x); }, X, gX, "input");
    // Masked entries: zero weights and zero gradients.
    for (int l = 0; l < mlp.num_layers(); ++l)
      for (size_t i = 0; i < mlp.mask(l).size(); ++i)
        if (mlp.mask(l)[i] == 0.0) {
          CHECK(P[mlp.weight_offset(l) + i] == 0.0);
          CHECK(gP[mlp.weight_offset(l) + i] == 0.0);
        }
  }
}
