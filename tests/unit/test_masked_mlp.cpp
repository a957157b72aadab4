// MaskedMLP: backward against finite differences; masked weights stay exactly zero.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "layer.hpp"
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

// MADE masks with sorted hidden degrees are block-triangular, and MaskedMLP runs them as GEMMs
// over each row block's column prefix. The blocked products must equal the plain dense ones.
TEST_CASE("MaskedMLP column blocks: forward and backward equal the dense product") {
  const int D = 12, C = 3;
  const std::vector<int> hidden{96, 80};
  ef::ParamLayout lay;
  auto masks = ef::made_masks<double>(D, C, hidden, ef::Degrees::Sequential, 5, nullptr);
  std::vector<int> sizes{D + C};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(2 * D);
  MaskedMLP<double> mlp(sizes, masks, Activation::ReLU, lay, "b");
  // The hidden-to-hidden layer (80 x 96) must really be split, or this test tests nothing.
  REQUIRE(mlp.blocks(1).size() > 1);
  REQUIRE(mlp.executed_flops_per_row() < 0.85 * mlp.flops_per_row());
  std::vector<double> P(lay.total());
  mlp.init(P.data(), 3, 1.0);
  auto noise = eft::randn(P.size(), 4, 0.1);
  for (size_t i = 0; i < P.size(); ++i) P[i] += P[i] != 0.0 ? noise[i] : 0.0;
  for (int l = 0; l < mlp.num_layers(); ++l)
    for (int j = 0; j < sizes[l + 1]; ++j) P[mlp.bias_offset(l) + j] = noise[mlp.bias_offset(l) + j];
  // B = 7: one row tile; B = 600: three tiles (256, 256, 88) shared by the threads.
  for (const int B : {7, 600}) {
  CAPTURE(B);
  const int out = 2 * D;
  auto X = eft::randn(size_t(B) * (D + C), 9);
  auto G = eft::randn(size_t(B) * out, 10);
  ef::MlpCache<double> c, scratch;
  std::vector<double> Y(size_t(B) * out), gP(P.size(), 0.0), gX(X.size());
  mlp.forward(P.data(), X.data(), B, c, Y.data());
  mlp.backward(P.data(), c, G.data(), B, gP.data(), gX.data(), scratch);
  // Reference: plain loops over the full (masked) matrices.
  std::vector<std::vector<double>> acts{X};
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const int ni = sizes[l], no = sizes[l + 1];
    std::vector<double> h(size_t(B) * no);
    for (int r = 0; r < B; ++r)
      for (int o = 0; o < no; ++o) {
        double s = P[mlp.bias_offset(l) + o];
        for (int j = 0; j < ni; ++j) s += acts[l][size_t(r) * ni + j] * P[mlp.weight_offset(l) + size_t(o) * ni + j];
        h[size_t(r) * no + o] = l + 1 < mlp.num_layers() ? std::max(s, 0.0) : s;
      }
    acts.push_back(h);
  }
  for (size_t i = 0; i < Y.size(); ++i) CHECK(Y[i] == doctest::Approx(acts.back()[i]).epsilon(1e-12));
  std::vector<double> d = G, refP(P.size(), 0.0), refX;
  for (int l = mlp.num_layers() - 1; l >= 0; --l) {
    const int ni = sizes[l], no = sizes[l + 1];
    std::vector<double> din(size_t(B) * ni, 0.0);
    for (int r = 0; r < B; ++r)
      for (int o = 0; o < no; ++o) {
        const double g = d[size_t(r) * no + o];
        refP[mlp.bias_offset(l) + o] += g;
        for (int j = 0; j < ni; ++j) {
          const size_t w = mlp.weight_offset(l) + size_t(o) * ni + j;
          refP[w] += g * acts[l][size_t(r) * ni + j] * mlp.mask(l)[size_t(o) * ni + j];
          din[size_t(r) * ni + j] += g * P[w];
        }
      }
    if (l > 0)
      for (size_t i = 0; i < din.size(); ++i) din[i] = acts[l][i] > 0 ? din[i] : 0.0;
    d = din;
    if (l == 0) refX = din;
  }
  for (size_t i = 0; i < P.size(); ++i) CHECK(gP[i] == doctest::Approx(refP[i]).epsilon(1e-12).scale(1.0));
  for (size_t i = 0; i < X.size(); ++i) CHECK(gX[i] == doctest::Approx(refX[i]).epsilon(1e-12).scale(1.0));
}
}

// Row tiles run on any thread and the parameter-gradient pieces in any order: forward and
// backward must give the same bits at 1 and 2 threads (and at any other count).
TEST_CASE("MaskedMLP forward and backward are bitwise the same at 1 and 2 threads") {
  const int D = 24, B = 700;
  const std::vector<int> hidden{128, 128};
  std::vector<int> sizes{D};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(2 * D);
  for (Activation act : {Activation::ReLU, Activation::Tanh}) {
    ef::ParamLayout lay;
    MaskedMLP<float> mlp(sizes, ef::made_masks<float>(D, 0, hidden, ef::Degrees::Sequential, 5, nullptr),
                         act, lay, "m");
    std::vector<float> P(lay.total());
    mlp.init(P.data(), 3, 1.0);
    const auto Xd = eft::randn(size_t(B) * D, 9), Gd = eft::randn(size_t(B) * 2 * D, 10);
    const std::vector<float> X(Xd.begin(), Xd.end()), G(Gd.begin(), Gd.end());
    auto run = [&](int threads, std::vector<float>& Y, std::vector<float>& gP, std::vector<float>& gX) {
      const int saved = omp_get_max_threads();
      omp_set_num_threads(threads);
      ef::MlpCache<float> c, scratch;
      Y.assign(size_t(B) * 2 * D, 0.f);
      gP.assign(P.size(), 0.f);
      gX.assign(X.size(), 0.f);
      mlp.forward(P.data(), X.data(), B, c, Y.data());
      mlp.backward(P.data(), c, G.data(), B, gP.data(), gX.data(), scratch);
      omp_set_num_threads(saved);
    };
    std::vector<float> Y1, gP1, gX1, Y2, gP2, gX2;
    run(1, Y1, gP1, gX1);
    run(2, Y2, gP2, gX2);
    CHECK(std::memcmp(Y1.data(), Y2.data(), Y1.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(gP1.data(), gP2.data(), gP1.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(gX1.data(), gX2.data(), gX1.size() * sizeof(float)) == 0);
    // Not all zero: the comparison above would pass on empty results.
    CHECK(std::any_of(gP1.begin(), gP1.end(), [](float v) { return v != 0.f; }));
  }
}

// The same with the context read in place (forward_ctx/backward_ctx: layer 0's GEMMs split
// over A's and ctx's columns, dctx accumulated tile by tile): bits independent of the threads.
TEST_CASE("MaskedMLP forward_ctx and backward_ctx are bitwise the same at 1 and 2 threads") {
  const int D = 16, C = 40, B = 700;
  const std::vector<int> hidden{128, 128};
  std::vector<int> sizes{D + C};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(2 * D);
  ef::ParamLayout lay;
  MaskedMLP<float> mlp(sizes, ef::made_masks<float>(D, C, hidden, ef::Degrees::Sequential, 5, nullptr),
                       Activation::ReLU, lay, "m");
  std::vector<float> P(lay.total());
  mlp.init(P.data(), 3, 1.0);
  const auto Ad = eft::randn(size_t(B) * D, 9), Cd = eft::randn(size_t(B) * C, 11),
             Gd = eft::randn(size_t(B) * 2 * D, 10);
  const std::vector<float> A(Ad.begin(), Ad.end()), Cx(Cd.begin(), Cd.end()), G(Gd.begin(), Gd.end());
  auto run = [&](int threads, std::vector<float>& Y, std::vector<float>& gP, std::vector<float>& dA,
                 std::vector<float>& dC) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    ef::MlpCache<float> c, scratch;
    Y.assign(size_t(B) * 2 * D, 0.f);
    gP.assign(P.size(), 0.f);
    dA.assign(A.size(), 0.f);
    dC.assign(Cx.size(), 1.f);
    mlp.forward_ctx(P.data(), A.data(), D, Cx.data(), B, c, Y.data());
    mlp.backward_ctx(P.data(), c, G.data(), B, gP.data(), dA.data(), dC.data(), scratch);
    omp_set_num_threads(saved);
  };
  std::vector<float> Y1, gP1, dA1, dC1, Y2, gP2, dA2, dC2;
  run(1, Y1, gP1, dA1, dC1);
  run(2, Y2, gP2, dA2, dC2);
  CHECK(std::memcmp(Y1.data(), Y2.data(), Y1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(gP1.data(), gP2.data(), gP1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(dA1.data(), dA2.data(), dA1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(dC1.data(), dC2.data(), dC1.size() * sizeof(float)) == 0);
  // Not all trivial: the comparisons above would pass on empty results.
  CHECK(std::any_of(dC1.begin(), dC1.end(), [](float v) { return v != 1.f; }));
  CHECK(std::any_of(dA1.begin(), dA1.end(), [](float v) { return v != 0.f; }));
}

// forward_ctx / backward_ctx take the input as two blocks [A | ctx] read in place (a flow's
// layers share one context). Same network: the results must equal the packed forward/backward,
// for every split point, on a first layer that is cut into column blocks (a MADE without
// context: rows read different prefixes, so splits fall inside and between the blocks), and
// dctx must accumulate (+=) while dA is overwritten.
TEST_CASE("MaskedMLP forward_ctx/backward_ctx equal the packed input's forward/backward") {
  const int D = 12;
  const std::vector<int> hidden{96, 40};
  ef::ParamLayout lay;
  auto masks = ef::made_masks<double>(D, 0, hidden, ef::Degrees::Sequential, 5, nullptr);
  std::vector<int> sizes{D};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(2 * D);
  MaskedMLP<double> mlp(sizes, masks, Activation::Tanh, lay, "s");
  REQUIRE(mlp.blocks(0).size() > 1);  // the first layer really is cut into blocks
  std::vector<double> P(lay.total());
  mlp.init(P.data(), 3, 1.0);
  auto noise = eft::randn(P.size(), 4, 0.1);
  for (size_t i = 0; i < P.size(); ++i) P[i] += P[i] != 0.0 ? noise[i] : 0.0;
  const int out = 2 * D;
  // B = 9: one row tile; B = 600: three tiles (each reads its own rows of A and ctx).
  for (const int B : {9, 600}) {
  CAPTURE(B);
  auto X = eft::randn(size_t(B) * D, 9);
  auto G = eft::randn(size_t(B) * out, 10);
  ef::MlpCache<double> c, scratch;
  std::vector<double> Y(size_t(B) * out), gP(P.size(), 0.0), gX(X.size());
  mlp.forward(P.data(), X.data(), B, c, Y.data());
  mlp.backward(P.data(), c, G.data(), B, gP.data(), gX.data(), scratch);
  for (int na : {0, 1, 5, 11, D}) {
    CAPTURE(na);
    const int nc = D - na;
    std::vector<double> A(size_t(B) * na), Cx(size_t(B) * nc);
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < D; ++j)
        (j < na ? A[size_t(r) * na + j] : Cx[size_t(r) * nc + j - na]) = X[size_t(r) * D + j];
    ef::MlpCache<double> c2, s2;
    std::vector<double> Y2(Y.size()), gP2(P.size(), 0.0), dA(A.size(), 7.0);
    const auto dC0 = eft::randn(Cx.size(), 13);
    std::vector<double> dC = dC0;
    mlp.forward_ctx(P.data(), A.data(), na, Cx.data(), B, c2, Y2.data());
    mlp.backward_ctx(P.data(), c2, G.data(), B, gP2.data(), A.empty() ? nullptr : dA.data(),
                     Cx.empty() ? nullptr : dC.data(), s2);
    for (size_t i = 0; i < Y.size(); ++i) CHECK(Y2[i] == doctest::Approx(Y[i]).epsilon(1e-12));
    for (size_t i = 0; i < P.size(); ++i) CHECK(gP2[i] == doctest::Approx(gP[i]).epsilon(1e-12).scale(1.0));
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < D; ++j) {
        const double got = j < na ? dA[size_t(r) * na + j]
                                  : dC[size_t(r) * nc + j - na] - dC0[size_t(r) * nc + j - na];
        CHECK(got == doctest::Approx(gX[size_t(r) * D + j]).epsilon(1e-12).scale(1.0));
      }
  }
  }
}
