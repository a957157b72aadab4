// Helpers shared by the unit tests: random fills and central finite differences in double.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <echoflow/echoflow.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flow.hpp"
#include "flow_math.hpp"
#include "layer.hpp"

namespace eft {

inline std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * ef::math::rand_normal(seed, 3, i);
  return v;
}

// Checks analytic gradient `g` of scalar function f at x (both size n) against central
// differences, at every coordinate (or every `stride`-th for big vectors). Returns the number
// of coordinates compared.
inline int check_gradient(const std::function<double(const std::vector<double>&)>& f,
                          std::vector<double> x, const std::vector<double>& g,
                          const char* what, size_t stride = 1,
                          const std::vector<char>* skip = nullptr, double h = 1e-6) {
  REQUIRE(x.size() == g.size());
  int compared = 0;
  for (size_t i = 0; i < x.size(); i += stride) {
    // Masked weights are constants of the model (their gradient is zeroed by design).
    if (skip && (*skip)[i]) {
      CHECK(g[i] == 0.0);
      continue;
    }
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f(x);
    x[i] = x0 - h;
    const double fm = f(x);
    x[i] = x0;
    const double num = (fp - fm) / (2 * h);
    INFO(what, " coordinate ", i, ": analytic ", g[i], " numeric ", num);
    CHECK(std::fabs(g[i] - num) <= 1e-6 + 1e-5 * std::fabs(num));
    ++compared;
  }
  return compared;
}

// Coordinates of masked (structurally zero) weights of the given conditioners.
inline std::vector<char> masked_coords(const std::vector<const ef::MaskedMLP<double>*>& mlps,
                                       size_t n) {
  std::vector<char> skip(n, 0);
  for (auto* m : mlps) {
    if (!m) continue;
    for (int l = 0; l < m->num_layers(); ++l)
      for (size_t i = 0; i < m->mask(l).size(); ++i)
        if (m->mask(l)[i] == 0.0) skip[m->weight_offset(l) + i] = 1;
  }
  return skip;
}
inline std::vector<char> masked_coords(const ef::Flow<double>& f, size_t n,
                                       std::vector<char> base = {}) {
  std::vector<const ef::MaskedMLP<double>*> v;
  for (size_t i = 0; i < f.num_layers(); ++i) v.push_back(f.layer(i).conditioner());
  auto s = masked_coords(v, n);
  for (size_t i = 0; i < base.size(); ++i) s[i] |= base[i];
  return s;
}

// A layer's backward against central finite differences for its parameters (masked weights
// skipped), inputs and context, through the loss sum(Gz * z) + sum(Gl * log det) with fixed
// random Gz, Gl (tests/unit/test_layers.cpp and test_splines.cpp).
inline void check_layer_backward(const ef::Layer<double>& layer, const std::vector<double>& P,
                                 const std::vector<double>& X, const std::vector<double>& Ctx,
                                 int B, int D) {
  auto Gz = randn(size_t(B) * D, 3);
  auto Gl = randn(size_t(B), 4);
  auto loss = [&](const std::vector<double>& p, const std::vector<double>& x,
                  const std::vector<double>& ctx) {
    ef::LayerCache<double> lc;
    std::vector<double> z(size_t(B) * D), ld(B, 0.0);
    layer.forward(p.data(), x.data(), ctx.data(), B, z.data(), ld.data(), lc);
    double s = 0;
    for (size_t i = 0; i < z.size(); ++i) s += Gz[i] * z[i];
    for (int r = 0; r < B; ++r) s += Gl[r] * ld[r];
    return s;
  };
  ef::LayerCache<double> lc;
  std::vector<double> z(size_t(B) * D), ld(B, 0.0), gP(P.size(), 0.0), gX(X.size()),
      gC(Ctx.size(), 0.0);
  layer.forward(P.data(), X.data(), Ctx.data(), B, z.data(), ld.data(), lc);
  layer.backward(P.data(), Gz.data(), Gl.data(), B, gP.data(), gX.data(), gC.data(), lc);
  const auto skip = masked_coords({layer.conditioner()}, P.size());
  if (!P.empty())
    check_gradient([&](const std::vector<double>& p) { return loss(p, X, Ctx); }, P, gP, "param",
                   1, &skip);
  check_gradient([&](const std::vector<double>& x) { return loss(P, x, Ctx); }, X, gX, "input");
  check_gradient([&](const std::vector<double>& k) { return loss(P, X, k); }, Ctx, gC, "context");
}

// log|det J| of a map R^D -> R^D by central differences and LU with partial pivoting.
inline double brute_logdet(const std::function<std::vector<double>(const std::vector<double>&)>& f,
                           std::vector<double> x, double h = 1e-6) {
  const size_t D = x.size();
  std::vector<double> J(D * D);
  for (size_t j = 0; j < D; ++j) {
    const double x0 = x[j];
    x[j] = x0 + h;
    auto fp = f(x);
    x[j] = x0 - h;
    auto fm = f(x);
    x[j] = x0;
    for (size_t i = 0; i < D; ++i) J[i * D + j] = (fp[i] - fm[i]) / (2 * h);
  }
  double logdet = 0;
  for (size_t k = 0; k < D; ++k) {
    size_t p = k;
    for (size_t i = k + 1; i < D; ++i)
      if (std::fabs(J[i * D + k]) > std::fabs(J[p * D + k])) p = i;
    if (p != k)
      for (size_t j = 0; j < D; ++j) std::swap(J[k * D + j], J[p * D + j]);
    const double piv = J[k * D + k];
    logdet += std::log(std::fabs(piv));
    for (size_t i = k + 1; i < D; ++i) {
      const double m = J[i * D + k] / piv;
      for (size_t j = k; j < D; ++j) J[i * D + j] -= m * J[k * D + j];
    }
  }
  return logdet;
}

// A layer under test with its parameter layout (test_layers.cpp, test_splines.cpp).
struct LayerCase {
  std::string name;
  ef::ParamLayout layout;
  std::unique_ptr<ef::Layer<double>> layer;
  int D = 4, C = 2;
};

// Appends a case built by make(layout).
template <class Make>
void add_layer_case(std::vector<std::unique_ptr<LayerCase>>& v, const std::string& name, Make make) {
  auto c = std::make_unique<LayerCase>();
  c->name = name;
  c->layer = make(c->layout);
  v.push_back(std::move(c));
}

// Parameters away from the near-identity init, so every term matters; masked weights stay 0.
// last_scale scales the conditioner's output layer (spline parameters of order one).
inline std::vector<double> layer_test_params(const LayerCase& c, double last_scale = 1.0) {
  std::vector<double> P(c.layout.total(), 0.0);
  c.layer->init(P.data());
  auto noise = randn(P.size(), 99, 0.3);
  const ef::MaskedMLP<double>* m = c.layer->conditioner();
  if (!m) return noise;
  for (int l = 0; l < m->num_layers(); ++l) {
    const double out = l + 1 == m->num_layers() ? last_scale : 1.0;
    const size_t nw = m->mask(l).size();
    for (size_t i = 0; i < nw; ++i)
      P[m->weight_offset(l) + i] =
          out * m->mask(l)[i] * (P[m->weight_offset(l) + i] * 3 + noise[m->weight_offset(l) + i]);
    for (int j = 0; j < m->sizes()[l + 1]; ++j) P[m->bias_offset(l) + j] = out * noise[m->bias_offset(l) + j];
  }
  return P;
}

// inverse(forward(x)) == x for a batch, and each row's log|det J| against brute_logdet.
// Returns how many coordinates the layer moved by more than 1e-3.
inline size_t check_layer_inverse_logdet(const LayerCase& c, const std::vector<double>& P,
                                         const std::vector<double>& X, const std::vector<double>& Ctx,
                                         int B) {
  const int D = c.D;
  ef::LayerCache<double> lc;
  std::vector<double> z(size_t(B) * D), ld(B, 0.0), back(size_t(B) * D);
  c.layer->forward(P.data(), X.data(), Ctx.data(), B, z.data(), ld.data(), lc);
  c.layer->inverse(P.data(), z.data(), Ctx.data(), B, back.data(), lc);
  size_t changed = 0;
  for (size_t i = 0; i < X.size(); ++i) {
    CHECK(back[i] == doctest::Approx(X[i]).epsilon(1e-10));
    changed += std::fabs(z[i] - X[i]) > 1e-3;
  }
  for (int r = 0; r < B; ++r) {
    std::vector<double> ctx_r(Ctx.begin() + r * c.C, Ctx.begin() + (r + 1) * c.C);
    auto f = [&](const std::vector<double>& x) {
      ef::LayerCache<double> l2;
      std::vector<double> zz(D), l(1, 0.0);
      c.layer->forward(P.data(), x.data(), ctx_r.data(), 1, zz.data(), l.data(), l2);
      return zz;
    };
    std::vector<double> xr(X.begin() + r * D, X.begin() + (r + 1) * D);
    CHECK(ld[r] == doctest::Approx(brute_logdet(f, xr)).epsilon(1e-6).scale(1.0));
  }
  return changed;
}

// The integral of exp(score) of a model of two numeric columns a, b over [a0, a1] x [b0, b1] by
// the midpoint rule with n points per axis (the density integrates to 1 in original units).
inline double grid_mass(const echoflow::Model& m, double a0, double a1, double b0, double b1, int n) {
  const double da = (a1 - a0) / n, db = (b1 - b0) / n;
  echoflow::Table grid;
  grid.columns = {echoflow::Column::numeric("a", {}), echoflow::Column::numeric("b", {})};
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      grid.columns[0].values.push_back(a0 + (i + 0.5) * da);
      grid.columns[1].values.push_back(b0 + (j + 0.5) * db);
    }
  double mass = 0;
  for (double v : m.score(grid)) mass += std::exp(v) * da * db;
  return mass;
}

// Options of a brief one-thread fit: the categorical model choice runs after any number of
// epochs, so the count-table tests need only a few.
inline echoflow::FitOptions brief_fit(int epochs, const std::string& categorical_model = "auto") {
  echoflow::FitOptions opt;
  opt.threads = 1;
  opt.train.epochs = epochs;
  opt.categorical_model = categorical_model;
  return opt;
}

}  // namespace eft
