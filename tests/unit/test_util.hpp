// Helpers shared by the unit tests: random fills and central finite differences in double.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "flow.hpp"
#include "flow_math.hpp"

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

}  // namespace eft
