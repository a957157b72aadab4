// Conditioner-MLP ops against MaskedMLP (engine/masked_mlp.cpp), run by an executor
// (tests/unit/ops_harness.hpp), in the two ways the device backend runs a conditioner
// (engine/device_backend_impl.hpp, mlp_forward / mlp_backward / dense_block):
//   per layer  BiasRows, a GEMM with beta 1, Activate; backward the weight GEMM, MaskMul,
//              colsum_add for the bias, the input GEMM and ActBackward; column blocks of one
//              degree (BiasBlock, a GEMM on a prefix, ActivateBlock);
//   fused      fused_mlp_forward / fused_mlp_backward (kernels/ops/fused_mlp.hpp) and the
//              weight GEMMs over the dZ they write;
// plus the executor's reductions (colsum_add at edge shapes, mean) against sums in double.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "../../kernels/ops/data_ops.hpp"
#include "../../kernels/ops/fused_mlp.hpp"
#include "../../kernels/ops/mlp_ops.hpp"
#include "ops_harness.hpp"

namespace efo {

namespace detail {

inline ef::MaskedMLP<float> random_mlp(const std::vector<int>& sizes, ef::Activation act,
                                       ef::ParamLayout& lay, uint64_t seed) {
  std::vector<std::vector<float>> masks;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    std::vector<float> m(size_t(sizes[l]) * sizes[l + 1]);
    for (size_t i = 0; i < m.size(); ++i)
      m[i] = ef::math::rand_uniform(seed, 40 + l, i) < 0.3 ? 0.f : 1.f;
    masks.push_back(m);
  }
  return ef::MaskedMLP<float>(sizes, masks, act, lay, "t");
}

}  // namespace detail

template <class Exec>
void check_mlp_ops(Exec& ex, const Tol& tol) {
  struct Case {
    std::vector<int> sizes;
    int B;
    ef::Activation act;
  };
  // 45: a partial 32-column tile; 5003 rows: many column-sum chunks and a ragged fused tile.
  const Case cases[] = {{{9, 64, 45, 10}, 300, ef::Activation::ReLU},
                        {{9, 64, 45, 10}, 5003, ef::Activation::Tanh},
                        {{6, 256, 256, 20}, 70, ef::Activation::Tanh}};  // the fused limit
  for (const Case& cs : cases) {
    CAPTURE(cs.B);
    CAPTURE(cs.sizes[1]);
    const uint64_t seed = 11 + uint64_t(cs.B);
    ef::ParamLayout lay;
    const ef::MaskedMLP<float> mlp = detail::random_mlp(cs.sizes, cs.act, lay, seed);
    const int L = mlp.num_layers(), B = cs.B, nin = mlp.in_size(), nout = mlp.out_size();
    std::vector<float> P(lay.total(), 0.f);
    randomize_mlp(mlp, P, seed + 1, 0.3f);
    const std::vector<float> X = randn(size_t(B) * nin, seed + 2);
    const std::vector<float> dY = randn(size_t(B) * nout, seed + 3);
    const std::vector<float> G0 = randn(P.size(), seed + 4, 0.1f);  // gradients accumulate

    ef::MlpCache<float> cache, scratch;
    std::vector<float> Y(size_t(B) * nout), dX(X.size()), G = G0;
    mlp.forward(P.data(), X.data(), B, cache, Y.data());
    mlp.backward(P.data(), cache, dY.data(), B, G.data(), dX.data(), scratch);

    const ef::ops::Act act = cs.act == ef::Activation::ReLU ? ef::ops::Act::ReLU
                                                            : ef::ops::Act::Tanh;
    int maxw = 0;
    for (int s : mlp.sizes()) maxw = std::max(maxw, s);
    ex.reserve(B, maxw);  // column-sum scratch, as the backend reserves for its capacity
    Buf<Exec, float> Pd(ex, P), Xd(ex, X), dYd(ex, dY), Yd(ex, Y.size());
    std::vector<Buf<Exec, float>> h, dz, masks;
    for (int l = 0; l <= L; ++l) h.emplace_back(ex, size_t(B) * mlp.sizes()[size_t(l)]);
    for (int l = 0; l < L; ++l) {
      dz.emplace_back(ex, size_t(B) * maxw);
      masks.emplace_back(ex, mlp.mask(l));
    }
    auto W = [&](int l) { return Pd.get() + mlp.weight_offset(l); };
    auto bias = [&](int l) { return Pd.get() + mlp.bias_offset(l); };
    auto in_of = [&](int l) -> const float* { return l == 0 ? Xd.get() : h[size_t(l)].get(); };

    // Per layer, forward.
    for (int l = 0; l < L; ++l) {
      const int ni = mlp.sizes()[size_t(l)], no = mlp.sizes()[size_t(l + 1)];
      float* out = l == L - 1 ? Yd.get() : h[size_t(l + 1)].get();
      ex.for_each(size_t(B) * no, ef::ops::BiasRows{out, bias(l), no});
      ex.gemm(false, true, B, no, ni, 1.f, in_of(l), ni, W(l), ni, 1.f, out, no);
      if (l < L - 1) ex.for_each(size_t(B) * no, ef::ops::Activate{out, act});
    }
    check_close(Yd.download(), Y, "per-layer Y", tol.r(1e-4), tol.r(1e-5));
    for (int l = 1; l < L; ++l)
      check_close(h[size_t(l)].download(), cache.h[size_t(l)], "per-layer hidden", tol.r(1e-4),
                  tol.r(1e-5));
    // Per layer, backward.
    {
      Buf<Exec, float> Gd(ex, G0), d0(ex, size_t(B) * maxw), d1(ex, size_t(B) * maxw),
          dXd(ex, X.size());
      const float* cur = dYd.get();
      for (int l = L - 1; l >= 0; --l) {
        const int ni = mlp.sizes()[size_t(l)], no = mlp.sizes()[size_t(l + 1)];
        float* gW = Gd.get() + mlp.weight_offset(l);
        ex.gemm(true, false, no, ni, B, 1.f, cur, no, in_of(l), ni, 1.f, gW, ni);
        ex.for_each(size_t(no) * ni, ef::ops::MaskMul{gW, masks[size_t(l)].get()});
        ex.colsum_add(cur, B, no, Gd.get() + mlp.bias_offset(l));
        float* din = l == 0 ? dXd.get() : (cur == d0.get() ? d1.get() : d0.get());
        ex.gemm(false, false, B, ni, no, 1.f, cur, no, W(l), ni, 0.f, din, ni);
        if (l > 0) ex.for_each(size_t(B) * ni, ef::ops::ActBackward{din, in_of(l), act});
        cur = din;
      }
      check_close(Gd.download(), G, "per-layer parameter gradients", tol.r(1e-3), tol.r(1e-5));
      check_close(dXd.download(), dX, "per-layer dX", tol.r(1e-3), tol.r(1e-5));
      // Masked weights keep exactly zero gradient beyond the starting values.
      const std::vector<float> g = Gd.download();
      size_t moved = 0;
      for (int l = 0; l < L; ++l)
        for (size_t i = 0; i < mlp.mask(l).size(); ++i)
          if (mlp.mask(l)[i] == 0.f && g[mlp.weight_offset(l) + i] != 0.f) ++moved;
      CHECK(moved == 0);
    }
    // A block of columns [u0, u1) of the first layer, as one degree of the MADE inverse.
    {
      const int ni = mlp.sizes()[0], no = mlp.sizes()[1], u0 = 10, u1 = 30;
      Buf<Exec, float> out(ex, size_t(B) * no);
      ex.for_each(size_t(B) * (u1 - u0), ef::ops::BiasBlock{out.get(), bias(0), no, u0, u1 - u0});
      ex.gemm(false, true, B, u1 - u0, ni, 1.f, Xd.get(), ni, W(0) + size_t(u0) * ni, ni, 1.f,
              out.get() + u0, no);
      ex.for_each(size_t(B) * (u1 - u0), ef::ops::ActivateBlock{out.get(), no, u0, u1 - u0, act});
      const std::vector<float> got = out.download();
      std::vector<float> a, r;
      for (int row = 0; row < B; ++row)
        for (int j = u0; j < u1; ++j) {
          a.push_back(got[size_t(row) * no + j]);
          r.push_back(cache.h[1][size_t(row) * no + j]);
        }
      check_close(a, r, "column block", tol.r(1e-4), tol.r(1e-5));
    }
    // Fused.
    if (L <= ef::ops::kFusedMaxLayers && maxw <= ef::ops::kFusedMaxWidth) {
      ef::ops::FusedMlp d;
      d.L = L;
      d.act = act;
      for (int l = 0; l <= L; ++l) {
        d.sizes[l] = mlp.sizes()[size_t(l)];
        d.max_width = std::max(d.max_width, d.sizes[l]);
      }
      for (int l = 0; l < L; ++l) {
        d.W[l] = W(l);
        d.b[l] = bias(l);
        if (l > 0) d.h[l] = h[size_t(l)].get();
      }
      for (auto& b : h) ex.memset(b.get(), 0xFF, b.size() * sizeof(float));
      Buf<Exec, float> Yf(ex, Y.size()), dXf(ex, X.size()), Gd(ex, G0);
      ex.fused_mlp_forward(d, Xd.get(), B, Yf.get());
      check_close(Yf.download(), Y, "fused Y", tol.r(1e-4), tol.r(1e-5));
      for (int l = 1; l < L; ++l)
        check_close(h[size_t(l)].download(), cache.h[size_t(l)], "fused hidden", tol.r(1e-4),
                    tol.r(1e-5));
      float* dzp[ef::ops::kFusedMaxLayers] = {};
      for (int l = 0; l + 1 < L; ++l) dzp[l] = dz[size_t(l)].get();
      ex.fused_mlp_backward(d, dYd.get(), dzp, dXf.get(), B);
      check_close(dXf.download(), dX, "fused dX", tol.r(1e-3), tol.r(1e-5));
      for (int l = L - 1; l >= 0; --l) {
        const int ni = mlp.sizes()[size_t(l)], no = mlp.sizes()[size_t(l + 1)];
        const float* dl = l == L - 1 ? dYd.get() : dzp[l];
        float* gW = Gd.get() + mlp.weight_offset(l);
        ex.gemm(true, false, no, ni, B, 1.f, dl, no, in_of(l), ni, 1.f, gW, ni);
        ex.for_each(size_t(no) * ni, ef::ops::MaskMul{gW, masks[size_t(l)].get()});
        ex.colsum_add(dl, B, no, Gd.get() + mlp.bias_offset(l));
      }
      check_close(Gd.download(), G, "fused parameter gradients", tol.r(1e-3), tol.r(1e-5));
    }
  }
}

template <class Exec>
void check_reductions(Exec& ex, const Tol& tol) {
  for (int rows : {1, 31, 256, 257, 70001})
    for (int cols : {1, 33, 128}) {
      CAPTURE(rows);
      CAPTURE(cols);
      const std::vector<float> A = randn(size_t(rows) * cols, 7 + uint64_t(rows));
      const std::vector<float> out0 = randn(size_t(cols), 8 + uint64_t(cols));
      std::vector<double> ref(out0.begin(), out0.end());
      for (int r = 0; r < rows; ++r)
        for (int j = 0; j < cols; ++j) ref[size_t(j)] += A[size_t(r) * cols + j];
      ex.reserve(rows, cols);
      Buf<Exec, float> Ad(ex, A), out(ex, out0);
      ex.colsum_add(Ad.get(), rows, cols, out.get());
      check_close(out.download(), std::vector<float>(ref.begin(), ref.end()), "colsum",
                  tol.r(1e-4), tol.r(1e-5));
      // The mean of the first `rows` values (a batch's log p), accumulated in double: the
      // summation order may differ, the result only by double rounding.
      Buf<Exec, double> mean(ex, 1);
      ex.mean(Ad.get(), rows, mean.get());
      double want = 0;
      for (int i = 0; i < rows; ++i) want += A[size_t(i)];
      want /= rows;
      const double got = mean.download()[0];
      CHECK(std::isfinite(got));
      CHECK(std::fabs(got - want) <= 1e-12 * (1 + std::fabs(want)));
    }
}

}  // namespace efo
