// Whole flows (MAF, RealNVP, the spline flows and mixed flows) and the joint model: finite
// differences, inverse, brute-force log|det|,
// determinism of sampling.
#include "flow.hpp"
#include "tabular_model.hpp"
#include "test_util.hpp"

using namespace ef;

namespace {
std::vector<FlowSpec> flow_specs() {
  std::vector<FlowSpec> v;
  FlowSpec s;
  s.dim = 4;
  s.context = 3;
  s.layers = 3;
  s.hidden = {8, 8};
  s.activation = Activation::Tanh;
  s.kind = FlowKind::MAF;
  s.actnorm = true;
  s.permutation = Permutation::Random;
  s.degrees = Degrees::Random;
  v.push_back(s);
  s.kind = FlowKind::MAF;
  s.actnorm = false;
  s.permutation = Permutation::Reverse;
  s.degrees = Degrees::Sequential;
  v.push_back(s);
  s.kind = FlowKind::RealNVP;
  s.permutation = Permutation::None;
  s.masks = CouplingMask::Alternating;
  s.actnorm = true;
  v.push_back(s);
  s.masks = CouplingMask::Random;
  s.permutation = Permutation::Random;
  s.activation = Activation::ReLU;
  v.push_back(s);
  // Spline flows (nsf-ar, nsf-coupling; B = 2.5 so the inputs reach the linear tails), same
  // dims, context, layers and widths.
  s.activation = Activation::Tanh;
  s.kind = FlowKind::NSFAR;
  s.bins = 6;
  s.tail_bound = 2.5;
  s.actnorm = true;
  s.permutation = Permutation::Random;
  s.degrees = Degrees::Random;
  v.push_back(s);
  s.kind = FlowKind::NSFCoupling;
  s.actnorm = false;
  s.bins = 8;
  s.tail_bound = 3.0;
  s.permutation = Permutation::None;
  s.masks = CouplingMask::Alternating;
  v.push_back(s);
  s.masks = CouplingMask::Random;
  s.permutation = Permutation::Reverse;
  s.activation = Activation::ReLU;
  s.actnorm = true;
  v.push_back(s);
  // Mixed flows: spline and affine layers in one flow (FlowSpec::mix cycles through kinds).
  s.mix = {FlowKind::NSFCoupling, FlowKind::RealNVP};
  s.kind = s.mix[0];
  s.layers = 4;
  s.masks = CouplingMask::Alternating;
  s.permutation = Permutation::None;
  v.push_back(s);
  s.mix = {FlowKind::NSFAR, FlowKind::MAF, FlowKind::NSFCoupling};
  s.kind = s.mix[0];
  s.layers = 3;
  s.permutation = Permutation::Random;
  s.actnorm = false;
  v.push_back(s);
  return v;
}

std::vector<double> perturbed_params(const Flow<double>& f, size_t n) {
  std::vector<double> P(n, 0.0);
  f.init(P.data());
  auto noise = eft::randn(n, 17, 0.2);
  for (size_t i = 0; i < n; ++i) P[i] = P[i] != 0.0 ? P[i] * 5 + noise[i] * 0.1 : 0.0;
  return P;
}
}  // namespace

TEST_CASE("flow log_prob gradient matches finite differences (params, x, context)") {
  for (const FlowSpec& spec : flow_specs()) {
    INFO("flow ", flow_name(spec), " actnorm ", spec.actnorm);
    ParamLayout lay;
    Flow<double> flow(spec, lay, "f");
    auto P = perturbed_params(flow, lay.total());
    // ActNorm initialized from data, then nudged so logs and bias are generic.
    const int B = 4, D = spec.dim, C = spec.context;
    auto X = eft::randn(size_t(B) * D, 31);
    auto Ctx = eft::randn(size_t(B) * C, 32);
    auto W = eft::randn(B, 33);  // dL/dlogp per row
    FlowWorkspace<double> ws;
    flow.init_from_data(P.data(), X.data(), Ctx.data(), B, ws);
    auto loss = [&](const std::vector<double>& p, const std::vector<double>& x,
                    const std::vector<double>& ctx) {
      FlowWorkspace<double> w2;
      std::vector<double> lp(B);
      flow.log_prob(p.data(), x.data(), ctx.data(), B, lp.data(), w2);
      double s = 0;
      for (int r = 0; r < B; ++r) s += W[r] * lp[r];
      return s;
    };
    std::vector<double> lp(B), gP(P.size(), 0.0), gX(X.size()), gC(Ctx.size(), 0.0);
    flow.log_prob(P.data(), X.data(), Ctx.data(), B, lp.data(), ws);
    flow.backward(P.data(), W.data(), B, gP.data(), gX.data(), gC.data(), ws);
    const auto skip = eft::masked_coords(flow, P.size());
    eft::check_gradient([&](const std::vector<double>& p) { return loss(p, X, Ctx); }, P, gP, "param", 3, &skip);
    eft::check_gradient([&](const std::vector<double>& x) { return loss(P, x, Ctx); }, X, gX, "x");
    eft::check_gradient([&](const std::vector<double>& k) { return loss(P, X, k); }, Ctx, gC, "ctx");
  }
}

TEST_CASE("flow inverse(forward(x)) == x and log p matches brute-force Jacobian") {
  for (const FlowSpec& spec : flow_specs()) {
    INFO("flow ", flow_name(spec));
    ParamLayout lay;
    Flow<double> flow(spec, lay, "f");
    auto P = perturbed_params(flow, lay.total());
    const int B = 6, D = spec.dim, C = spec.context;
    auto X = eft::randn(size_t(B) * D, 41, 2.0);
    auto Ctx = eft::randn(size_t(B) * C, 42);
    FlowWorkspace<double> ws;
    flow.init_from_data(P.data(), X.data(), Ctx.data(), B, ws);
    std::vector<double> lp(B), back(X.size());
    flow.log_prob(P.data(), X.data(), Ctx.data(), B, lp.data(), ws);
    const std::vector<double> z = ws.acts.back();
    flow.inverse(P.data(), z.data(), Ctx.data(), B, back.data(), ws);
    for (size_t i = 0; i < X.size(); ++i) CHECK(back[i] == doctest::Approx(X[i]).epsilon(1e-9));
    for (int r = 0; r < B; ++r) {
      std::vector<double> ctx_r(Ctx.begin() + r * C, Ctx.begin() + (r + 1) * C);
      auto f = [&](const std::vector<double>& x) {
        FlowWorkspace<double> w2;
        double l;
        flow.log_prob(P.data(), x.data(), ctx_r.data(), 1, &l, w2);
        return w2.acts.back();
      };
      std::vector<double> xr(X.begin() + r * D, X.begin() + (r + 1) * D);
      double base = 0;
      for (int i = 0; i < D; ++i) base += math::log_normal(z[size_t(r) * D + i]);
      CHECK(lp[r] == doctest::Approx(base + eft::brute_logdet(f, xr)).epsilon(1e-6));
    }
  }
}

TEST_CASE("tabular model: gradient, conditional sampling keeps block C, sampling is deterministic") {
  // Part 0 (block C): one continuous column. Part 1 (block R): two categorical groups and
  // three continuous dims.
  TabularSpec ts;
  ts.flow.hidden = {8};
  ts.flow.layers = 2;
  ts.flow.activation = Activation::Tanh;
  ts.parts = {PartSpec{{}, 1}, PartSpec{{3, 2}, 3}};
  ts.c_parts = 1;
  TabularModel<double> tm(ts);
  const int G = 2, D = 4;
  std::vector<double> P(tm.num_params());
  tm.init(P.data());
  auto noise = eft::randn(P.size(), 5, 0.3);
  for (size_t i = 0; i < P.size(); ++i) P[i] = P[i] != 0 ? P[i] * 5 + noise[i] : 0.0;
  const int B = 3;
  auto U = eft::randn(size_t(B) * D, 6);
  std::vector<int> codes{0, 1, 2, 0, 1, 1};
  auto W = eft::randn(B, 7);
  TabularWorkspace<double> ws;
  std::vector<double> lp(B), g(P.size(), 0.0);
  tm.log_prob(P.data(), codes.data(), U.data(), B, lp.data(), ws);
  tm.backward(P.data(), W.data(), B, g.data(), ws);
  std::vector<const MaskedMLP<double>*> mlps{&tm.cat(1)->mlp()};
  auto skip = eft::masked_coords(mlps, P.size());
  skip = eft::masked_coords(*tm.flow(0), P.size(), skip);
  skip = eft::masked_coords(*tm.flow(1), P.size(), skip);
  eft::check_gradient(
      [&](const std::vector<double>& p) {
        TabularWorkspace<double> w2;
        std::vector<double> l(B);
        tm.log_prob(p.data(), codes.data(), U.data(), B, l.data(), w2);
        double s = 0;
        for (int r = 0; r < B; ++r) s += W[r] * l[r];
        return s;
      },
      P, g, "param", 2, &skip);

  // Conditional draws keep the given part and vary the rest.
  Given<double> gv;
  gv.fixed = {1};
  gv.flow_counts = {1};
  gv.codes.assign(G, -1);
  gv.u = {0.5, 0, 0, 0};
  const int n = 64;
  std::vector<int> c1(size_t(n) * G), c2(size_t(n) * G);
  std::vector<double> u1(size_t(n) * D), u2(size_t(n) * D);
  SampleInfo info;
  tm.sample(P.data(), n, 42, 0, &gv, c1.data(), u1.data(), ws, &info);
  CHECK(info.method == "ancestral");
  for (int r = 0; r < n; ++r) CHECK(u1[size_t(r) * D] == 0.5);
  CHECK(u1[1] != u1[D + 1]);
  // Same seed and offsets, same rows; a row does not depend on the batch it is drawn in.
  tm.sample(P.data(), n, 42, 0, &gv, c2.data(), u2.data(), ws, nullptr);
  CHECK(u1 == u2);
  CHECK(c1 == c2);
  std::vector<int> one_c(G);
  std::vector<double> one_u(D);
  tm.sample(P.data(), 1, 42, 5, &gv, one_c.data(), one_u.data(), ws, nullptr);
  for (int i = 0; i < D; ++i) CHECK(one_u[i] == doctest::Approx(u1[5 * D + i]).epsilon(1e-12));
  for (int i = 0; i < G; ++i) CHECK(one_c[i] == c1[5 * G + i]);
}
