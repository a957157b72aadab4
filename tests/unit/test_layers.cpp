// Every flow layer: backward against central finite differences in double (parameters, inputs,
// context), inverse(forward(x)) == x, and log|det J| against a brute-force Jacobian.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "flow.hpp"
#include "layer.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {

std::vector<double> make_params(const eft::LayerCase& c) { return eft::layer_test_params(c); }

std::vector<std::unique_ptr<eft::LayerCase>> all_cases() {
  std::vector<std::unique_ptr<eft::LayerCase>> v;
  auto add = [&](const std::string& name, auto make) { eft::add_layer_case(v, name, make); };
  const std::vector<int> hidden{8, 6};
  add("maf tanh sequential", [&](ParamLayout& L) {
    return make_maf_layer<double>(4, 2, hidden, Activation::Tanh, Degrees::Sequential, 3.0, 1, L, "m");
  });
  add("maf relu random", [&](ParamLayout& L) {
    return make_maf_layer<double>(4, 2, hidden, Activation::ReLU, Degrees::Random, 3.0, 2, L, "m");
  });
  add("maf no clamp", [&](ParamLayout& L) {
    return make_maf_layer<double>(4, 2, {5}, Activation::Tanh, Degrees::Sequential, 0.0, 3, L, "m");
  });
  add("coupling tanh", [&](ParamLayout& L) {
    return make_coupling_layer<double>({1, 0, 1, 0}, 2, hidden, Activation::Tanh, 3.0, 4, L, "c");
  });
  add("coupling relu", [&](ParamLayout& L) {
    return make_coupling_layer<double>({0, 1, 1, 0}, 2, hidden, Activation::ReLU, 2.0, 5, L, "c");
  });
  add("actnorm", [&](ParamLayout& L) { return make_actnorm_layer<double>(4, L, "a"); });
  add("permutation", [&](ParamLayout&) { return make_permutation_layer<double>({2, 0, 3, 1}); });
  return v;
}

}  // namespace

TEST_CASE("layer backward matches finite differences for parameters, inputs and context") {
  for (auto& cp : all_cases()) {
    eft::LayerCase& c = *cp;
    INFO("layer: ", c.name);
    const int B = 3, D = c.D, C = c.C;
    auto P = make_params(c);
    auto X = eft::randn(size_t(B) * D, 1);
    auto Ctx = eft::randn(size_t(B) * C, 2);
    eft::check_layer_backward(*c.layer, P, X, Ctx, B, D);
  }
}

TEST_CASE("layer inverse(forward(x)) == x and log|det| matches the brute-force Jacobian") {
  for (auto& cp : all_cases()) {
    eft::LayerCase& c = *cp;
    INFO("layer: ", c.name);
    const int B = 5, D = c.D;
    auto P = make_params(c);
    auto X = eft::randn(size_t(B) * D, 21, 1.5);
    auto Ctx = eft::randn(size_t(B) * c.C, 22);
    eft::check_layer_inverse_logdet(c, P, X, Ctx, B);
  }
}

TEST_CASE("MADE masks are autoregressive: x_i changes no output of degree <= i") {
  for (Degrees deg : {Degrees::Sequential, Degrees::Random}) {
    for (int D : {1, 2, 5}) {
      ParamLayout lay;
      auto layer = make_maf_layer<double>(D, 2, {16, 9}, Activation::ReLU, deg, 3.0, 7, lay, "m");
      std::vector<double> P(lay.total());
      layer->init(P.data());
      for (auto& v : P) v *= 50;  // big weights: any leak would show
      const MaskedMLP<double>& mlp = *layer->conditioner();
      auto X = eft::randn(size_t(D + 2), 5);
      auto run = [&](const std::vector<double>& x) {
        MlpCache<double> c;
        std::vector<double> y(2 * D);
        mlp.forward(P.data(), x.data(), 1, c, y.data());
        return y;
      };
      const auto y0 = run(X);
      for (int i = 0; i < D; ++i) {
        auto X2 = X;
        X2[i] += 3.7;
        const auto y1 = run(X2);
        for (int j = 0; j <= i; ++j) {  // output j (mu_j and a_j) has degree j+1 <= i+1
          INFO("D=", D, " perturbed x_", i, " output ", j);
          CHECK(y1[j] == y0[j]);
          CHECK(y1[D + j] == y0[D + j]);
        }
      }
      // Every output sees the context, the first one included (hidden units of degree 0).
      for (int j = 0; j < D; ++j) {
        auto X2 = X;
        X2[D] += 2.5;  // first context input
        const auto y1 = run(X2);
        INFO("D=", D, " output ", j, " must depend on the context");
        CHECK((y1[j] != y0[j] || y1[D + j] != y0[D + j]));
      }
      // And the structure is not trivially empty: the last output sees the first input.
      if (D >= 2) {
        auto X2 = X;
        X2[0] += 3.7;
        const auto y1 = run(X2);
        CHECK((y1[D - 1] != y0[D - 1] || y1[2 * D - 1] != y0[2 * D - 1]));
      }
    }
  }
}

// Wide conditioners: MaskedMLP splits their masks into column blocks, and the autoregressive
// inverse evaluates one degree block per pass (engine/made_incremental.hpp). Both must still
// invert forward exactly, with and without a context, for both degree rules.
TEST_CASE("autoregressive inverses with wide, blocked conditioners: inverse(forward(x)) == x") {
  for (int C : {0, 3})
    for (Degrees deg : {Degrees::Sequential, Degrees::Random})
      for (int kind = 0; kind < 2; ++kind)
      for (const int B : {6, 600}) {  // 600: three row tiles, shared by the threads
        const int D = 12;
        ParamLayout L;
        auto layer = kind == 0
                         ? make_maf_layer<double>(D, C, {96, 80}, Activation::ReLU, deg, 3.0, 9, L, "m")
                         : make_spline_ar_layer<double>(D, C, {96, 80}, Activation::Tanh, deg, 6, 3.0, 9, L, "s");
        INFO("kind ", kind, " C ", C, " random degrees ", deg == Degrees::Random, " B ", B);
        REQUIRE(layer->conditioner()->blocks(1).size() > 1);  // the blocked path is exercised
        std::vector<double> P(L.total());
        layer->init(P.data());
        auto noise = eft::randn(P.size(), 31, 1.0);
        for (size_t i = 0; i < P.size(); ++i) P[i] = P[i] != 0.0 ? P[i] * 20 + 0.05 * noise[i] : 0.0;
        auto X = eft::randn(size_t(B) * D, 32, 1.2);
        auto Ctx = eft::randn(size_t(B) * std::max(C, 1), 33);
        LayerCache<double> lc;
        std::vector<double> z(X.size()), ld(B, 0.0), back(X.size());
        layer->forward(P.data(), X.data(), C ? Ctx.data() : nullptr, B, z.data(), ld.data(), lc);
        layer->inverse(P.data(), z.data(), C ? Ctx.data() : nullptr, B, back.data(), lc);
        double worst = 0;
        for (size_t i = 0; i < X.size(); ++i) worst = std::max(worst, std::fabs(back[i] - X[i]));
        CHECK(worst < 1e-9);
      }
}

// The autoregressive inverse runs each row tile's D passes on its own thread
// (MadeIncremental::invert): samples must be bitwise the same at 1 and 2 threads.
TEST_CASE("autoregressive inverses are bitwise the same at 1 and 2 threads") {
  for (int kind = 0; kind < 2; ++kind) {
    const int D = 16, C = 2, B = 700;
    ParamLayout L;
    auto layer = kind == 0
                     ? make_maf_layer<float>(D, C, {128, 128}, Activation::ReLU, Degrees::Sequential, 3.0, 9, L, "m")
                     : make_spline_ar_layer<float>(D, C, {128, 128}, Activation::ReLU, Degrees::Sequential, 8, 3.0, 9, L, "s");
    INFO("kind ", kind);
    std::vector<float> P(L.total());
    layer->init(P.data());
    const auto noise = eft::randn(P.size(), 31, 1.0);
    for (size_t i = 0; i < P.size(); ++i) P[i] = P[i] != 0.f ? P[i] * 5 + 0.02f * float(noise[i]) : 0.f;
    const auto zd = eft::randn(size_t(B) * D, 32), cd = eft::randn(size_t(B) * C, 33);
    const std::vector<float> z(zd.begin(), zd.end()), ctx(cd.begin(), cd.end());
    auto run = [&](int threads) {
      const int saved = omp_get_max_threads();
      omp_set_num_threads(threads);
      LayerCache<float> lc;
      std::vector<float> x(z.size());
      layer->inverse(P.data(), z.data(), ctx.data(), B, x.data(), lc);
      omp_set_num_threads(saved);
      return x;
    };
    const auto x1 = run(1), x2 = run(2);
    CHECK(std::memcmp(x1.data(), x2.data(), x1.size() * sizeof(float)) == 0);
    // And it is the inverse: forward(x) gives z back (float rounding).
    LayerCache<float> lc;
    std::vector<float> zz(z.size()), ld(B, 0.f);
    layer->forward(P.data(), x1.data(), ctx.data(), B, zz.data(), ld.data(), lc);
    float worst = 0;
    for (size_t i = 0; i < z.size(); ++i) worst = std::max(worst, std::fabs(zz[i] - z[i]));
    CHECK(worst < 1e-3f);
  }
}
