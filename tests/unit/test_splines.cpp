// Neural spline flows: the rational-quadratic spline math (kernels/spline_math.hpp) against
// finite differences in double, inverse(forward) incl. the tails and points exactly on knots,
// monotonicity; both spline layers in the harness of test_layers.cpp; the autoregressive
// property of nsf-ar; whole flows; and exp(score) integrating to 1 through the public API.
#include <echoflow/echoflow.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "flow.hpp"
#include "layer.hpp"
#include "spline_math.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {

// Random unnormalized spline parameters (3K - 1), big enough that bins and derivatives differ.
std::vector<double> spline_params(int K, uint64_t seed, double scale = 1.5) {
  return eft::randn(size_t(math::spline_num_params(K)), seed, scale);
}

// The K + 1 knots of one axis (u = widths or heights), as the spline computes them.
std::vector<double> knots(const double* u, int K, double B) {
  const auto a = math::rq_axis(u, K);
  std::vector<double> v;
  for (int k = 0; k < K; ++k) {
    double lo, hi;
    math::rq_bin_knots(u, a, K, B, k, lo, hi);
    v.push_back(lo);
    if (k == K - 1) v.push_back(hi);
  }
  return v;
}

double fwd(double x, const std::vector<double>& p, int K, double B, double* ld = nullptr) {
  double l;
  const double y = math::rq_forward(x, p.data(), K, B, &l);
  if (ld) *ld = l;
  return y;
}

struct SplineCase {
  int K;
  double B;
};
const SplineCase kSplines[] = {{2, 3.0}, {5, 1.7}, {8, 3.0}, {16, 2.5}};

// Test points: uniform over [-1.4B, 1.4B] (tails included), away from knots by more than the
// finite-difference step (log|dy/dx| is only continuous there, not differentiable).
std::vector<double> test_points(const std::vector<double>& xk, double B, uint64_t seed, int n) {
  std::vector<double> v;
  for (int i = 0; v.size() < size_t(n); ++i) {
    const double x = (2 * math::rand_uniform(seed, 11, uint64_t(i)) - 1) * 1.4 * B;
    bool near = false;
    for (double k : xk) near = near || std::fabs(x - k) < 1e-4;
    if (!near) v.push_back(x);
  }
  return v;
}

}  // namespace

TEST_CASE("spline: zero parameters give the identity (uniform bins, unit derivatives)") {
  for (const SplineCase& sc : kSplines) {
    std::vector<double> p(size_t(math::spline_num_params(sc.K)), 0.0);
    for (double x : {-5.0, -sc.B, -0.3, 0.0, 0.77, sc.B, 9.0}) {
      double ld;
      const double y = fwd(x, p, sc.K, sc.B, &ld);
      CHECK(y == doctest::Approx(x).epsilon(1e-12));
      CHECK(std::fabs(ld) < 1e-12);
    }
  }
  CHECK(math::rq_knot_deriv(std::vector<double>{0.0}.data(), 2, 1) == doctest::Approx(1.0).epsilon(1e-14));
}

TEST_CASE("spline: backward matches central finite differences (parameters and x, tails too)") {
  for (const SplineCase& sc : kSplines) {
    const int K = sc.K, P = math::spline_num_params(K);
    const double B = sc.B;
    for (int trial = 0; trial < 3; ++trial) {
      const auto p = spline_params(K, 100 + trial * 7 + K);
      const auto xs = test_points(knots(p.data(), K, B), B, 200 + trial, 25);
      int in_tails = 0;
      for (size_t n = 0; n < xs.size(); ++n) {
        const double x = xs[n];
        in_tails += std::fabs(x) > B;
        const double gy = math::rand_normal(7, trial, n), gl = math::rand_normal(8, trial, n);
        INFO("K=", K, " B=", B, " x=", x, " gy=", gy, " gl=", gl);
        auto loss = [&](double xx, const std::vector<double>& pp) {
          double l;
          const double y = math::rq_forward(xx, pp.data(), K, B, &l);
          return gy * y + gl * l;
        };
        std::vector<double> gp(P, 123.0);  // must be overwritten
        const double gx = math::rq_backward(x, p.data(), K, B, gy, gl, gp.data());
        eft::check_gradient([&](const std::vector<double>& pp) { return loss(x, pp); }, p, gp,
                            "spline param");
        eft::check_gradient([&](const std::vector<double>& v) { return loss(v[0], p); }, {x},
                            {gx}, "spline x");
        if (std::fabs(x) > B) {
          CHECK(gx == gy);
          for (double g : gp) CHECK(g == 0.0);
        }
      }
      CHECK(in_tails > 0);  // the tails were exercised
    }
  }
}

TEST_CASE("spline: log|dy/dx| matches the numeric derivative, monotone, maps [-B, B] onto itself") {
  for (const SplineCase& sc : kSplines) {
    const int K = sc.K;
    const double B = sc.B;
    const auto p = spline_params(K, 300 + K, 2.0);
    const auto xk = knots(p.data(), K, B);
    for (double x : test_points(xk, B, 301, 200)) {
      double ld;
      fwd(x, p, K, B, &ld);
      const double h = 1e-6;
      const double num = (fwd(x + h, p, K, B) - fwd(x - h, p, K, B)) / (2 * h);
      INFO("K=", K, " x=", x);
      CHECK(ld == doctest::Approx(std::log(num)).epsilon(1e-6).scale(1.0));
    }
    // Strictly increasing on a dense grid that straddles both tail bounds.
    double prev = -INFINITY;
    const int n = 20000;
    for (int i = 0; i <= n; ++i) {
      const double x = -1.5 * B + 3.0 * B * i / n;
      const double y = fwd(x, p, K, B);
      REQUIRE(y > prev);
      prev = y;
    }
    CHECK(fwd(-B, p, K, B) == doctest::Approx(-B).epsilon(1e-14));
    CHECK(fwd(B, p, K, B) == doctest::Approx(B).epsilon(1e-12));
    // The log-derivative is continuous at the tail bounds (boundary derivatives are 1, and the
    // identity tails have log-derivative 0).
    double l_edge;
    fwd(B, p, K, B, &l_edge);
    CHECK(std::fabs(l_edge) < 1e-12);
    fwd(-B, p, K, B, &l_edge);
    CHECK(std::fabs(l_edge) < 1e-12);
  }
}

TEST_CASE("spline: inverse(forward(x)) == x, in the tails and exactly on knots") {
  for (const SplineCase& sc : kSplines) {
    const int K = sc.K;
    const double B = sc.B;
    for (int trial = 0; trial < 4; ++trial) {
      const auto p = spline_params(K, 400 + 13 * trial + K, 0.5 + trial);
      const auto xk = knots(p.data(), K, B), yk = knots(p.data() + K, K, B);
      REQUIRE(xk.size() == size_t(K + 1));
      CHECK(xk.front() == -B);
      CHECK(xk.back() == B);
      std::vector<double> xs = test_points(xk, B, 401 + trial, 300);
      xs.insert(xs.end(), xk.begin(), xk.end());  // exactly on every knot, +-B included
      xs.insert(xs.end(), {-1e6, -B * 1.0000001, B * 1.0000001, 42.0});
      for (double x : xs) {
        double ld;
        const double y = fwd(x, p, K, B, &ld);
        const double back = math::rq_inverse(y, p.data(), K, B);
        // Rounding of y (1e-16 B) is amplified by 1/slope: big parameters make slopes ~1e-6.
        INFO("K=", K, " x=", x, " log slope ", ld, " error ", back - x);
        CHECK(std::fabs(back - x) <= 1e-13 * B * (1 + std::exp(-ld)));
      }
      // Knots map to knots, and the inverse of a height knot is the width knot.
      for (int j = 0; j <= K; ++j) {
        INFO("K=", K, " knot ", j);
        CHECK(fwd(xk[j], p, K, B) == doctest::Approx(yk[j]).epsilon(1e-12).scale(B));
        CHECK(math::rq_inverse(yk[j], p.data(), K, B) == doctest::Approx(xk[j]).epsilon(1e-12).scale(B));
      }
    }
  }
}

TEST_CASE("spline: float evaluation agrees with double") {
  const int K = 8;
  const double B = 3.0;
  const auto p = spline_params(K, 500);
  std::vector<float> pf(p.begin(), p.end());
  for (double x : test_points(knots(p.data(), K, B), B, 501, 500)) {
    double ld;
    float ldf;
    const double y = fwd(x, p, K, B, &ld);
    const float yf = math::rq_forward(float(x), pf.data(), K, float(B), &ldf);
    CHECK(yf == doctest::Approx(y).epsilon(1e-5).scale(1.0));
    CHECK(ldf == doctest::Approx(ld).epsilon(1e-4).scale(1.0));
    CHECK(math::rq_inverse(yf, pf.data(), K, float(B)) == doctest::Approx(float(x)).epsilon(1e-4).scale(1.0));
  }
}

namespace {
// The cached path of the layers: rq_forward_cache leaves the softmax in p, rq_backward_cached
// reads it back; both must give exactly what rq_forward / rq_backward give.
template <class T>
void check_cached_path(int K, T B, uint64_t seed) {
  const int P = math::spline_num_params(K);
  const auto pd = spline_params(K, seed, 1.2);
  const std::vector<T> p(pd.begin(), pd.end());
  std::vector<T> sw(K), sh(K);
  math::rq_softmax_axis(p.data(), K, sw.data());
  math::rq_softmax_axis(p.data() + K, K, sh.data());
  // The cached knots are those of rq_bin_knots, bit for bit, and rq_search finds every knot's bin.
  const auto aw = math::rq_axis(p.data(), K);
  for (int k = 0; k < K; ++k) {
    T lo, hi, lo2, hi2;
    math::rq_bin_knots(p.data(), aw, K, B, k, lo, hi);
    math::rq_knots_at(sw.data(), K, B, k, lo2, hi2);
    CHECK(lo == lo2);
    CHECK(hi == hi2);
    CHECK(math::rq_search(sw.data(), K, B, lo, lo2, hi2) == k);
    CHECK(lo2 == lo);
    CHECK(hi2 == hi);
  }
  std::vector<T> xs;
  for (int i = 0; i < 200; ++i)
    xs.push_back(T((2 * math::rand_uniform(seed, 12, uint64_t(i)) - 1) * 1.3) * B);
  xs.insert(xs.end(), {-B, B, T(0), B * T(1.5), -B * T(7)});
  for (T x : xs) {
    INFO("K=", K, " x=", double(x));
    T l, lc;
    const T y = math::rq_forward(x, p.data(), K, B, &l);
    std::vector<T> pc = p;
    const T yc = math::rq_forward_cache(x, pc.data(), K, B, &lc);
    CHECK(y == yc);
    CHECK(l == lc);
    const bool tail = math::rq_in_tails(x, B);
    for (int i = 0; i < P; ++i) {
      const T want = tail || i >= 2 * K ? p[i] : i < K ? sw[i] : sh[i - K];
      CHECK(pc[i] == want);
    }
    std::vector<T> g(P, T(7)), gc(P, T(-7));
    const T gy = T(0.3), gl = T(-1.1);
    const T gx = math::rq_backward(x, p.data(), K, B, gy, gl, g.data());
    const T gxc = math::rq_backward_cached(x, pc.data(), K, B, gy, gl, gc.data());
    CHECK(gx == gxc);
    for (int i = 0; i < P; ++i) CHECK(g[i] == gc[i]);
  }
}
}  // namespace

TEST_CASE("spline: the cached-softmax path (rq_forward_cache, rq_backward_cached) is bit-identical") {
  for (const SplineCase& sc : kSplines) {
    check_cached_path<double>(sc.K, sc.B, 600 + sc.K);
    check_cached_path<float>(sc.K, float(sc.B), 700 + sc.K);
  }
  check_cached_path<double>(math::kSplineMaxBins, 2.0, 801);  // the local buffers' full size
  check_cached_path<float>(math::kSplineMaxBins, 2.0f, 802);
}

TEST_CASE("spline: the most bins (kSplineMaxBins) pass finite differences and invert") {
  const int K = math::kSplineMaxBins, P = math::spline_num_params(K);
  const double B = 2.0;
  const auto p = spline_params(K, 900, 1.0);
  const auto xk = knots(p.data(), K, B);
  for (double x : test_points(xk, B, 901, 30)) {
    INFO("x=", x);
    const double gy = 0.7, gl = -0.4;
    std::vector<double> gp(P);
    const double gx = math::rq_backward(x, p.data(), K, B, gy, gl, gp.data());
    auto loss = [&](double xx, const std::vector<double>& pp) {
      double l;
      const double y = math::rq_forward(xx, pp.data(), K, B, &l);
      return gy * y + gl * l;
    };
    eft::check_gradient([&](const std::vector<double>& pp) { return loss(x, pp); }, p, gp,
                        "spline param K=64");
    eft::check_gradient([&](const std::vector<double>& v) { return loss(v[0], p); }, {x}, {gx},
                        "spline x K=64");
    double ld;
    const double y = fwd(x, p, K, B, &ld);
    CHECK(std::fabs(math::rq_inverse(y, p.data(), K, B) - x) <= 1e-13 * B * (1 + std::exp(-ld)));
  }
}

TEST_CASE("spline: log1p_pos (Kahan's log1p) is accurate in double and float") {
  for (int i = 0; i <= 4000; ++i) {
    const double e = std::pow(10.0, -30.0 + 30.0 * i / 4000);  // 1e-30 .. 1
    INFO("e=", e);
    CHECK(std::fabs(math::log1p_pos(e) - std::log1p(e)) <= 4e-16 * std::log1p(e));
    const float ef = float(e);
    const double ref = std::log1p(double(ef));
    const float got = math::log1p_pos(ef);
    const double ulp = std::nextafter(float(ref), INFINITY) - float(ref);
    CHECK(std::fabs(double(got) - ref) <= 3 * ulp);
  }
  CHECK(math::log1p_pos(0.0) == 0.0);
  CHECK(math::log1p_pos(0.0f) == 0.0f);
}

// ---- layers, in the harness of test_layers.cpp ----

namespace {

// Spline parameters of order one (bins of clearly different sizes, derivatives ~0.3..3): the
// output layer at half scale; much bigger ones make slopes ~1e-5, where the brute-force Jacobian
// loses its digits.
std::vector<double> layer_params(const eft::LayerCase& c) { return eft::layer_test_params(c, 0.5); }

std::vector<std::unique_ptr<eft::LayerCase>> spline_layers() {
  std::vector<std::unique_ptr<eft::LayerCase>> v;
  auto add = [&](const std::string& name, auto make) { eft::add_layer_case(v, name, make); };
  const std::vector<int> hidden{8, 6};
  add("nsf-coupling tanh K=8", [&](ParamLayout& L) {
    return make_spline_coupling_layer<double>({1, 0, 1, 0}, 2, hidden, Activation::Tanh, 8, 3.0, 4, L, "c");
  });
  add("nsf-coupling relu K=5 B=2", [&](ParamLayout& L) {
    return make_spline_coupling_layer<double>({0, 1, 1, 0}, 2, hidden, Activation::ReLU, 5, 2.0, 5, L, "c");
  });
  add("nsf-ar tanh sequential K=4", [&](ParamLayout& L) {
    return make_spline_ar_layer<double>(4, 2, hidden, Activation::Tanh, Degrees::Sequential, 4, 3.0, 1, L, "m");
  });
  add("nsf-ar relu random K=8 B=1.5", [&](ParamLayout& L) {
    return make_spline_ar_layer<double>(4, 2, hidden, Activation::ReLU, Degrees::Random, 8, 1.5, 2, L, "m");
  });
  return v;
}

// Inputs with some coordinates in the tails (|x| > B for every case's bound).
std::vector<double> layer_inputs(int B, int D, uint64_t seed) {
  auto X = eft::randn(size_t(B) * D, seed, 1.5);
  X[1] = 4.25;
  X[size_t(B) * D - 2] = -3.9;
  return X;
}

}  // namespace

TEST_CASE("spline layers: backward matches finite differences for parameters, inputs and context") {
  for (auto& cp : spline_layers()) {
    eft::LayerCase& c = *cp;
    INFO("layer: ", c.name);
    const int B = 3, D = c.D, C = c.C;
    auto P = layer_params(c);
    auto X = layer_inputs(B, D, 1);
    auto Ctx = eft::randn(size_t(B) * C, 2);
    eft::check_layer_backward(*c.layer, P, X, Ctx, B, D);
  }
}

TEST_CASE("spline layers: inverse(forward(x)) == x and log|det| matches the brute-force Jacobian") {
  for (auto& cp : spline_layers()) {
    eft::LayerCase& c = *cp;
    INFO("layer: ", c.name);
    const int B = 5, D = c.D;
    auto P = layer_params(c);
    auto X = layer_inputs(B, D, 21);
    auto Ctx = eft::randn(size_t(B) * c.C, 22);
    CHECK(eft::check_layer_inverse_logdet(c, P, X, Ctx, B) >= X.size() / 4);  // far from the identity
  }
}

TEST_CASE("spline layers: a batch big enough for the OpenMP path matches row-by-row evaluation") {
  for (auto& cp : spline_layers()) {
    eft::LayerCase& c = *cp;
    INFO("layer: ", c.name);
    const int D = c.D, C = c.C;
    const int B = int(ef::kSplineOmpMinElems) / D + 37;  // B * D above the parallel threshold
    auto P = layer_params(c);
    auto X = layer_inputs(B, D, 41);
    auto Ctx = eft::randn(size_t(B) * C, 42);
    auto Gz = eft::randn(size_t(B) * D, 43);
    auto Gl = eft::randn(size_t(B), 44);
    LayerCache<double> lc;
    std::vector<double> z(size_t(B) * D), ld(B, 0.0), gP(P.size(), 0.0), gX(X.size()),
        gC(Ctx.size(), 0.0), back(X.size());
    c.layer->forward(P.data(), X.data(), Ctx.data(), B, z.data(), ld.data(), lc);
    c.layer->backward(P.data(), Gz.data(), Gl.data(), B, gP.data(), gX.data(), gC.data(), lc);
    c.layer->inverse(P.data(), z.data(), Ctx.data(), B, back.data(), lc);
    std::vector<double> gP1(P.size(), 0.0);
    for (int r = 0; r < B; ++r) {
      LayerCache<double> l1;
      std::vector<double> z1(D), ld1(1, 0.0), gX1(D), gC1(C, 0.0);
      c.layer->forward(P.data(), &X[size_t(r) * D], &Ctx[size_t(r) * C], 1, z1.data(), ld1.data(), l1);
      c.layer->backward(P.data(), &Gz[size_t(r) * D], &Gl[r], 1, gP1.data(), gX1.data(), gC1.data(), l1);
      CHECK(ld[r] == doctest::Approx(ld1[0]).epsilon(1e-12));
      for (int i = 0; i < D; ++i) {
        CHECK(z[size_t(r) * D + i] == doctest::Approx(z1[i]).epsilon(1e-12));
        CHECK(gX[size_t(r) * D + i] == doctest::Approx(gX1[i]).epsilon(1e-10));
        CHECK(back[size_t(r) * D + i] == doctest::Approx(X[size_t(r) * D + i]).epsilon(1e-9));
      }
      for (int j = 0; j < C; ++j) CHECK(gC[size_t(r) * C + j] == doctest::Approx(gC1[j]).epsilon(1e-10));
    }
    for (size_t i = 0; i < P.size(); ++i) CHECK(gP[i] == doctest::Approx(gP1[i]).epsilon(1e-9).scale(1.0));
  }
}

TEST_CASE("nsf-ar is autoregressive: x_i changes no z_j and no spline parameter of j <= i") {
  for (Degrees deg : {Degrees::Sequential, Degrees::Random}) {
    for (int D : {1, 2, 5}) {
      const int K = 6, P = math::spline_num_params(K);
      ParamLayout lay;
      auto layer = make_spline_ar_layer<double>(D, 2, {16, 9}, Activation::ReLU, deg, K, 3.0, 7, lay, "m");
      std::vector<double> Pm(lay.total());
      layer->init(Pm.data());
      for (auto& v : Pm) v *= 50;  // big weights: any leak would show
      const MaskedMLP<double>& mlp = *layer->conditioner();
      REQUIRE(mlp.out_size() == D * P);
      auto X = eft::randn(size_t(D + 2), 5);
      auto run = [&](const std::vector<double>& x) {
        MlpCache<double> c;
        std::vector<double> y(size_t(D) * P);
        mlp.forward(Pm.data(), x.data(), 1, c, y.data());
        return y;
      };
      auto layer_z = [&](const std::vector<double>& x) {
        LayerCache<double> c;
        std::vector<double> z(D), ld(1, 0.0);
        layer->forward(Pm.data(), x.data(), x.data() + D, 1, z.data(), ld.data(), c);
        return z;
      };
      const auto y0 = run(X);
      const auto z0 = layer_z(X);
      for (int i = 0; i < D; ++i) {
        auto X2 = X;
        X2[i] += 1.7;
        const auto y1 = run(X2);
        const auto z1 = layer_z(X2);
        for (int j = 0; j < D; ++j) {
          INFO("D=", D, " perturbed x_", i, " dimension ", j);
          if (j <= i)
            for (int o = 0; o < P; ++o) CHECK(y1[size_t(j) * P + o] == y0[size_t(j) * P + o]);
          if (j < i) CHECK(z1[j] == z0[j]);
        }
      }
      // Every dimension's parameters see the context, the first one's included.
      auto X2 = X;
      X2[D] += 2.5;
      const auto y1 = run(X2);
      for (int j = 0; j < D; ++j) {
        bool differs = false;
        for (int o = 0; o < P; ++o) differs = differs || y1[size_t(j) * P + o] != y0[size_t(j) * P + o];
        INFO("D=", D, " dimension ", j, " must depend on the context");
        CHECK(differs);
      }
      // And the last dimension reads the first input.
      if (D >= 2) {
        auto X3 = X;
        X3[0] += 1.7;
        const auto y3 = run(X3);
        bool differs = false;
        for (int o = 0; o < P; ++o) differs = differs || y3[size_t(D - 1) * P + o] != y0[size_t(D - 1) * P + o];
        CHECK(differs);
      }
    }
  }
}

// ---- whole flows (finite differences, inverse, brute-force log det: tests/unit/test_flow.cpp,// whose specs include the spline and mixed flows) ----

TEST_CASE("spline flows: bad bins / tail bound are rejected") {
  FlowSpec s;
  s.kind = FlowKind::NSFAR;
  s.bins = 1;
  ParamLayout lay;
  CHECK_THROWS_WITH_AS(Flow<double>(s, lay, "f"), doctest::Contains("bins"), ef::Error);
  s.bins = 8;
  s.tail_bound = 0;
  CHECK_THROWS_WITH_AS(Flow<double>(s, lay, "f"), doctest::Contains("tail bound"), ef::Error);
  CHECK(flow_kind_from("nsf-ar") == FlowKind::NSFAR);
  CHECK(flow_kind_from("nsf-coupling") == FlowKind::NSFCoupling);
  CHECK(std::string(to_string(FlowKind::NSFCoupling)) == "nsf-coupling");
  CHECK(default_permutation(FlowKind::NSFAR) == Permutation::Reverse);
  CHECK(default_permutation(FlowKind::NSFCoupling) == Permutation::None);
}

TEST_CASE("mixed flows: layer kinds cycle through the list, names and default permutation") {
  FlowSpec s;
  s.dim = 3;
  s.hidden = {4};
  s.layers = 5;
  s.mix = {FlowKind::NSFCoupling, FlowKind::RealNVP};
  s.kind = s.mix[0];
  s.permutation = default_permutation(s);
  CHECK(s.permutation == Permutation::None);  // couplings only: alternating masks mix
  CHECK(flow_name(s) == "nsf-coupling+realnvp");
  CHECK(has_splines(s));
  ParamLayout lay;
  Flow<double> f(s, lay, "f");
  REQUIRE(f.num_layers() == 5);
  for (int l = 0; l < 5; ++l)
    CHECK(f.layer(l).name() == std::string(l % 2 == 0 ? "nsf-coupling" : "coupling"));
  s.mix = {FlowKind::RealNVP, FlowKind::MAF};
  CHECK(default_permutation(s) == Permutation::Reverse);  // any autoregressive layer: reverse
  CHECK_FALSE(has_splines(s));
  CHECK(layer_kind(s, 3) == FlowKind::MAF);
}

// ---- end to end through the public API ----

namespace {
// Bimodal in odd units: x1 ~ N(-1.5, 0.5^2) or N(1.5, 0.5^2); x2 | x1 ~ N(sin(2 x1), 0.3^2).
echoflow::Table bimodal(size_t n, uint64_t seed, double scale, double shift) {
  echoflow::Table t;
  t.columns = {echoflow::Column::numeric("a", {}), echoflow::Column::numeric("b", {})};
  for (size_t i = 0; i < n; ++i) {
    const double mode = math::rand_uniform(seed, 2, i) < 0.5 ? -1.5 : 1.5;
    const double x1 = mode + 0.5 * math::rand_normal(seed, 0, i);
    const double x2 = std::sin(2 * x1) + 0.3 * math::rand_normal(seed, 1, i);
    t.columns[0].values.push_back(x1 * scale + shift);
    t.columns[1].values.push_back(x2 * scale + shift);
  }
  return t;
}
}  // namespace

TEST_CASE("spline flows: exp(score) integrates to 1 in original units (odd units x*37+1000)") {
  for (FlowKind kind : {FlowKind::NSFAR, FlowKind::NSFCoupling}) {
    INFO("flow ", std::string(to_string(kind)));
    const echoflow::Table train = bimodal(3000, 3, 37.0, 1000.0);
    echoflow::FitOptions o;
    o.flow.kind = kind;
    o.flow.layers = 4;
    o.flow.hidden = {32, 32};
    o.flow.permutation = default_permutation(kind);
    if (kind == FlowKind::NSFCoupling) {  // non-default spline settings must survive save/load
      o.flow.bins = 6;
      o.flow.tail_bound = 3.5;
    }
    o.train.epochs = 15;
    o.train.batch_size = 256;
    o.train.adam.lr = 2e-3;
    o.train.validation_fraction = 0.1;
    o.train.patience = 15;
    o.device = "cpu";
    echoflow::Model m = echoflow::Model::fit(train, o);
    // Midpoint rule on a grid covering the mass (x1 in [-6, 6], x2 in [-5, 5] before scaling:
    // a 15-epoch model's tails reach past +-5, where a narrower grid lost ~2% of the mass),
    // fine enough for the sharp conditional (sd 0.3): 300 points per axis read ~1.014 here.
    const double mass = eft::grid_mass(m, 1000 - 6 * 37.0, 1000 + 6 * 37.0, 1000 - 5 * 37.0,
                                       1000 + 5 * 37.0, 1000);
    MESSAGE(std::string(to_string(kind)), ": integral of exp(score) over the grid = ", mass);
    CHECK(std::fabs(mass - 1.0) < 0.02);  // absolute (doctest's Approx would allow ~0.04)
    // The held-out fit beats a single Gaussian per axis by a clear margin (the model learned).
    const echoflow::Table test = bimodal(2000, 4, 37.0, 1000.0);
    double nll = 0;
    const auto lp = m.score(test);
    for (double v : lp) nll -= v / lp.size();
    MESSAGE(std::string(to_string(kind)), ": held-out NLL ", nll);
    // In unit scale the true entropy is about 1.63 nats (log 2 + H(N(0, 0.5^2)) + H(N(0, 0.3^2)))
    // and independent Gaussian fits give about 3.0; in odd units add 2 log 37 = 7.22.
    CHECK(nll < 7.22 + 2.2);
    // save/load round trip keeps the spline spec (bins, tail bound) and the scores.
    const std::string path =
        (std::filesystem::temp_directory_path() / "ef_test_nsf_saveload.efm").string();
    m.save(path);
    echoflow::Model l = echoflow::Model::load(path);
    std::remove(path.c_str());
    const auto l2 = l.score(test);
    for (size_t i = 0; i < lp.size(); ++i) REQUIRE(lp[i] == l2[i]);
    const echoflow::Table s1 = m.sample(300, {}, 5), s2 = l.sample(300, {}, 5);
    CHECK(s1.columns[0].values == s2.columns[0].values);  // the inverse agrees too
    CHECK(s1.columns[1].values == s2.columns[1].values);
  }
}
