// Test cases shared by the device backend's host tests (tests/unit/test_device_backend.cpp)
// and GPU tests (tests/gpu/test_cuda_backend.cpp): model specs covering every flow kind and
// layer, random tables, identical random parameters on two backends, and a float comparison.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "adam.hpp"
#include "backend.hpp"
#include "flow.hpp"
#include "tabular_model.hpp"
#include "flow_math.hpp"

namespace efd {

struct Named {
  std::string name;
  ef::TabularSpec spec;
};

inline ef::TabularSpec make_spec(ef::FlowKind kind, std::vector<ef::PartSpec> parts, int c_parts,
                          bool actnorm, ef::Activation act, uint64_t seed) {
  ef::TabularSpec s;
  s.flow.kind = kind;
  s.flow.layers = 3;
  s.flow.hidden = {16, 12};
  s.flow.activation = act;
  s.flow.actnorm = actnorm;
  s.flow.permutation = ef::default_permutation(kind);
  s.flow.bins = 5;
  s.flow.seed = seed;
  s.parts = std::move(parts);
  s.c_parts = c_parts;
  return s;
}

// Every flow kind, with and without context, block-C parts, ActNorm, both activations, random
// masks and degrees, identity coupling layers (one dim), and a table without continuous columns.
inline std::vector<Named> specs() {
  using ef::Activation;
  using ef::FlowKind;
  std::vector<Named> v;
  v.push_back({"maf, two parts, actnorm", make_spec(FlowKind::MAF, {{{3}, 1}, {{2, 4}, 3}}, 1,
                                                     true, Activation::ReLU, 11)});
  auto rnvp = make_spec(FlowKind::RealNVP, {{{3}, 4}}, 0, true, Activation::Tanh, 12);
  rnvp.flow.masks = ef::CouplingMask::Random;
  rnvp.flow.permutation = ef::Permutation::Random;
  v.push_back({"realnvp, random masks", rnvp});
  v.push_back({"realnvp, one dim", make_spec(FlowKind::RealNVP, {{{}, 1}}, 0, false,
                                              Activation::ReLU, 13)});
  v.push_back({"nsf-coupling", make_spec(FlowKind::NSFCoupling, {{{2}, 3}}, 0, false,
                                         Activation::ReLU, 14)});
  auto ar = make_spec(FlowKind::NSFAR, {{{}, 1}, {{2}, 3}}, 1, true, Activation::Tanh, 15);
  ar.flow.degrees = ef::Degrees::Random;
  v.push_back({"nsf-ar, block C", ar});
  // Spline and affine layers in one flow (FlowSpec::mix), with context and a block-C part.
  auto mixed = make_spec(FlowKind::NSFAR, {{{}, 1}, {{3}, 3}}, 1, false, Activation::ReLU, 17);
  mixed.flow.mix = {FlowKind::NSFAR, FlowKind::RealNVP, FlowKind::NSFCoupling};
  mixed.flow.layers = 4;
  mixed.flow.permutation = ef::default_permutation(mixed.flow);
  v.push_back({"mixed nsf-ar/realnvp/nsf-coupling", mixed});
  v.push_back({"categorical only", make_spec(FlowKind::MAF, {{{3, 2, 4}, 0}}, 0, false,
                                             Activation::ReLU, 16)});
  return v;
}

// Conditioning wider than the fused kernels take (kernels/ops/fused_mlp.hpp, kFusedMaxWidth =
// 256): a categorical column of 300 labels conditions every flow layer and its own categorical
// MADE, so the device backend gathers those first-layer columns from the codes instead of
// packing them (kernels/ops/ctx_ops.hpp). Every flow structure, and a later part whose context
// also holds continuous dims.
inline std::vector<Named> wide_specs() {
  using ef::Activation;
  using ef::FlowKind;
  std::vector<Named> v;
  v.push_back({"maf, 300 labels, two parts", make_spec(FlowKind::MAF, {{{300}, 2}, {{}, 2}}, 0,
                                                       true, Activation::ReLU, 71)});
  v.push_back({"realnvp, 300 labels", make_spec(FlowKind::RealNVP, {{{300}, 3}}, 0, false,
                                                 Activation::Tanh, 72)});
  v.push_back({"nsf-coupling, 300 labels", make_spec(FlowKind::NSFCoupling, {{{300}, 3}}, 0,
                                                      false, Activation::ReLU, 73)});
  v.push_back({"nsf-ar, 300 labels", make_spec(FlowKind::NSFAR, {{{300}, 2}}, 0, false,
                                               Activation::Tanh, 74)});
  // The categorical MADE after a continuous part: its input is own one-hots then a
  // continuous context; two groups, one of them wide.
  v.push_back({"categorical 300 + 4 after a flow", make_spec(FlowKind::MAF, {{{}, 2}, {{300, 4}, 1}},
                                                             0, false, Activation::ReLU, 75)});
  return v;
}

inline std::vector<Named> all_specs() {
  std::vector<Named> v = specs(), w = wide_specs();
  v.insert(v.end(), w.begin(), w.end());
  return v;
}

struct Rows {
  std::vector<int> codes;
  std::vector<float> u;
};

inline Rows random_rows(const ef::TabularSpec& s, int B, uint64_t seed) {
  Rows r;
  for (int b = 0; b < B; ++b)
    for (const auto& p : s.parts)
      for (int k : p.levels)
        r.codes.push_back(int(ef::math::rand_u64(seed, 1, r.codes.size()) % uint64_t(k)));
  const int D = s.dims();
  for (size_t i = 0; i < size_t(B) * D; ++i)
    r.u.push_back(float(1.5 * ef::math::rand_normal(seed, 2, i)));  // some in the spline tails
  return r;
}

// Both backends with the same random parameters (and ActNorm initialized from the data).
// 1 for every parameter that is a structural zero (a masked MADE weight) of the model.
inline std::vector<char> masked_params(const ef::TabularSpec& spec) {
  const ef::TabularModel<float> m(spec);
  std::vector<char> z(m.num_params(), 0);
  auto mark = [&](const ef::MaskedMLP<float>& mlp) {
    for (int l = 0; l < mlp.num_layers(); ++l)
      for (size_t i = 0; i < mlp.mask(l).size(); ++i)
        if (mlp.mask(l)[i] == 0.f) z[mlp.weight_offset(l) + i] = 1;
  };
  for (size_t p = 0; p < spec.parts.size(); ++p) {
    if (m.cat(int(p))) mark(m.cat(int(p))->mlp());
    if (const ef::Flow<float>* f = m.flow(int(p)))
      for (size_t k = 0; k < f->num_layers(); ++k)
        if (const ef::MaskedMLP<float>* c = f->layer(k).conditioner()) mark(*c);
  }
  return z;
}

// Random parameters around the data-initialized ones; masked weights stay zero, as training
// keeps them (a nonzero one would break the autoregressive structure every inverse relies on).
inline void same_params(ef::Backend& cpu, ef::Backend& dev, const Rows& rows, int B, uint64_t seed) {
  cpu.init_params();
  cpu.init_from_data(rows.codes.data(), rows.u.data(), B);
  std::vector<float> P = cpu.get_params();
  const std::vector<char> masked = masked_params(cpu.spec());
  for (size_t i = 0; i < P.size(); ++i)
    if (!masked[i]) P[i] += float(0.2 * ef::math::rand_normal(seed, 4, i));
  cpu.set_params(P);
  dev.set_params(P);
}

// Every element within atol + rtol |ref| with atol = atol_frac max|ref|; NaN fails.
inline void check_close(const std::vector<float>& got, const std::vector<float>& ref,
                 const std::string& what, double rtol = 1e-4, double atol_frac = 1e-5) {
  REQUIRE(got.size() == ref.size());
  double scale = 0;
  for (float r : ref) scale = std::fmax(scale, std::fabs(double(r)));
  size_t bad = 0, worst = 0;
  double worst_err = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(double(got[i]) - ref[i]);
    const double tol = atol_frac * scale + rtol * std::fabs(double(ref[i])) + 1e-30;
    if (!(err <= tol)) ++bad;
    if (!(err <= worst_err)) {
      worst_err = err;
      worst = i;
    }
  }
  INFO(what, ": ", bad, " of ", ref.size(), " outside tolerance; worst at ", worst, ": got ",
       got[worst], " ref ", ref[worst]);
  CHECK(bad == 0);
}

// The CPU reference's epoch on the whole batches a permutation names (rows perm[s, s + B) of
// every full batch, the ragged tail dropped as plan_epoch does): forward, backward and Adam per
// batch. Returns each step's mean log p, to compare with a device backend's resident epoch.
inline std::vector<double> cpu_epoch(ef::Backend& cpu, const Rows& rows,
                                     const std::vector<int>& perm, int B,
                                     const ef::AdamConfig& cfg) {
  const int G = cpu.spec().groups(), D = cpu.spec().dims(), N = int(perm.size());
  std::vector<double> losses;
  for (int s = 0; s + B <= N; s += B) {
    std::vector<int> c;
    std::vector<float> u;
    for (int r = s; r < s + B; ++r) {
      const size_t row = size_t(perm[size_t(r)]);
      c.insert(c.end(), rows.codes.begin() + row * G, rows.codes.begin() + (row + 1) * G);
      u.insert(u.end(), rows.u.begin() + row * D, rows.u.begin() + (row + 1) * D);
    }
    losses.push_back(cpu.forward(c.data(), u.data(), B));
    cpu.backward();
    cpu.adam_step(cfg);
  }
  return losses;
}

// Draws of two backends from the same seed (codes (N, G), u (N, D)). A uniform within rounding
// of a category boundary may pick the neighbouring level on one of them, and that row's
// continuous values then follow another branch: at most max_differ rows may differ in their
// codes, and every other row's u must agree within the tolerance.
inline void same_draws(const std::vector<int>& codes, const std::vector<float>& u,
                       const std::vector<int>& ref_codes, const std::vector<float>& ref_u, int G,
                       int D, int max_differ, double rtol, double atol_frac) {
  REQUIRE(codes.size() == ref_codes.size());
  REQUIRE(u.size() == ref_u.size());
  const size_t N = G ? codes.size() / size_t(G) : u.size() / size_t(std::max(D, 1));
  std::vector<float> a, b;
  int differ = 0;
  for (size_t r = 0; r < N; ++r) {
    const bool same = std::equal(codes.begin() + r * G, codes.begin() + (r + 1) * G,
                                 ref_codes.begin() + r * G);
    if (!same) {
      ++differ;
      continue;
    }
    a.insert(a.end(), u.begin() + r * D, u.begin() + (r + 1) * D);
    b.insert(b.end(), ref_u.begin() + r * D, ref_u.begin() + (r + 1) * D);
  }
  INFO(differ, " of ", N, " rows drew other categories");
  CHECK(differ <= max_differ);
  check_close(a, b, "sampled u of the rows with the same categories", rtol, atol_frac);
}

}  // namespace efd
