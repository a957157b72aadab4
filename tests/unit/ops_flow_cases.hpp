// Flow-layer ops (kernels/ops/flow_ops.hpp) against the CPU layers (engine/*_layer.cpp), run by
// an executor (tests/unit/ops_harness.hpp). For every kind of the registry, with and without a
// context: the forward op on the conditioner's raw output gives the layer's z, log-det and (for
// splines) the softmax it caches in place; the backward op on the cached output gives the
// layer's conditioner-output gradient and, with UnpackGrad of the conditioner's input gradient,
// its dx; the inverse op (every pass of an autoregressive one) gives back x. Then ActNorm,
// permutations and the base distribution's log p and its gradient.
#pragma once
#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "../../kernels/ops/flow_ops.hpp"
#include "../../kernels/ops/data_ops.hpp"
#include "conditioner_io.hpp"
#include "coupling_split.hpp"
#include "flow.hpp"
#include "flow_kinds.hpp"
#include "layer.hpp"
#include "ops_harness.hpp"

namespace efo {

template <class Exec>
void check_flow_kind_ops(Exec& ex, const Tol& tol) {
  const int D = 5, B = 300, l = 1;  // layer 1: the other alternating coupling mask than layer 0
  for (const ef::FlowKindInfo& info : ef::flow_kinds()) {
    for (int C : {0, 3}) {
      const std::string name = info.name;
      CAPTURE(name);
      CAPTURE(C);
      const uint64_t seed = 40 + uint64_t(C) + 7 * uint64_t(info.kind);
      ef::FlowSpec s;
      s.dim = D;
      s.context = C;
      s.hidden = {24, 16};
      s.activation = ef::Activation::Tanh;
      s.bins = 6;
      s.tail_bound = 2.5;
      s.seed = seed;
      ef::set_layer_kinds(s, {info.kind});
      ef::ParamLayout lay;
      const std::unique_ptr<ef::Layer<float>> layer =
          info.factory<float>()(s, l, seed, lay, "t");
      REQUIRE(layer->name() == std::string(info.layer_name));
      REQUIRE(layer->conditioner() != nullptr);
      const ef::MaskedMLP<float>& mlp = *layer->conditioner();
      std::vector<float> P(lay.total(), 0.f);
      randomize_mlp(mlp, P, seed + 1, 0.5f);  // log-scales reach the soft clamp's curve
      const std::vector<float> x = randn(size_t(B) * D, seed + 2, 1.5f);  // some in the tails
      const std::vector<float> ctx = randn(size_t(B) * C, seed + 3);
      const std::vector<float> logdet0 = randn(size_t(B), seed + 4);
      const std::vector<float> dz = randn(size_t(B) * D, seed + 5);
      const std::vector<float> dlogdet = randn(size_t(B), seed + 6);
      const float* cp = C ? ctx.data() : nullptr;

      // The CPU layer.
      ef::LayerCache<float> c, c2;
      std::vector<float> z(size_t(B) * D), logdet = logdet0, dx(size_t(B) * D),
          G(P.size(), 0.f), dctx(size_t(B) * C, 0.f), xinv(size_t(B) * D);
      layer->forward(P.data(), x.data(), cp, B, z.data(), logdet.data(), c);
      const std::vector<float> h_cached = c.out;  // splines: softmax in place of raw widths
      // The conditioner input [x | ctx] packed as the device ops read it (the CPU layer keeps
      // only its x part and reads ctx in place).
      const ef::CouplingSplit split(ef::coupling_mask(s, l), C);
      std::vector<float> packed;
      if (info.autoregressive())
        ef::pack_input(x.data(), cp, B, D, C, packed);
      else
        split.pack(x.data(), cp, B, D, packed);
      // The raw conditioner output as the CPU layer computed it (same GEMMs, same rounding).
      std::vector<float> h_raw(c.out.size());
      ef::MlpCache<float> mc;
      mlp.forward_ctx(P.data(), c.in.data(), mlp.in_size() - C, cp, B, mc, h_raw.data());
      layer->backward(P.data(), dz.data(), dlogdet.data(), B, G.data(), dx.data(),
                      C ? dctx.data() : nullptr, c);
      layer->inverse(P.data(), z.data(), cp, B, xinv.data(), c2);

      // Its ops on the executor.
      const int W = mlp.in_size(), nout = mlp.out_size(), K = s.bins;
      const float clamp = float(s.clamp), bound = float(s.tail_bound);
      REQUIRE(packed.size() == size_t(B) * W);
      REQUIRE(c.in.size() == size_t(B) * (W - C));  // the x part only
      REQUIRE(c.din.size() == c.in.size());
      const int Wx = W - C;  // row stride of the CPU's input gradient (x part)
      const int nt = info.autoregressive() ? D : int(split.trans.size());
      const int nP = int(split.pass.size());
      Buf<Exec, int> tr(ex, split.trans.empty() ? std::vector<int>{0} : split.trans);
      Buf<Exec, int> pass(ex, split.pass.empty() ? std::vector<int>{0} : split.pass);
      Buf<Exec, float> xd(ex, x), h(ex, h_raw), zd(ex, size_t(B) * D), ld(ex, logdet0);
      if (info.autoregressive()) {
        switch (info.transform) {
          case ef::FlowTransform::Affine:
            ex.for_each(size_t(B), ef::ops::MafForward{xd.get(), h.get(), D, clamp, zd.get(),
                                                       ld.get()});
            break;
          case ef::FlowTransform::Spline:
            ex.for_each(size_t(B), ef::ops::SplineForward{xd.get(), h.get(), nullptr, D, D, K,
                                                          bound, zd.get(), ld.get()});
            break;
        }
      } else {
        ex.copy(zd.get(), xd.get(), x.size() * sizeof(float));
        switch (info.transform) {
          case ef::FlowTransform::Affine:
            ex.for_each(size_t(B), ef::ops::CouplingForward{xd.get(), h.get(), tr.get(), nt, D,
                                                            clamp, zd.get(), ld.get()});
            break;
          case ef::FlowTransform::Spline:
            ex.for_each(size_t(B), ef::ops::SplineForward{xd.get(), h.get(), tr.get(), nt, D, K,
                                                          bound, zd.get(), ld.get()});
            break;
        }
      }
      check_close(zd.download(), z, "z", tol.r(1e-5), tol.r(1e-6));
      // A row's log-det sums D terms (splines: logs of derivatives the CPU's vector loops
      // compute with its own log): looser than z.
      check_close(ld.download(), logdet, "logdet", tol.r(1e-4), tol.r(1e-5));
      check_close(h.download(), h_cached, "conditioner output after forward", tol.r(1e-5),
                  tol.r(1e-6));

      Buf<Exec, float> in(ex, packed), dzd(ex, dz), dld(ex, dlogdet), dh(ex, size_t(B) * nout),
          dxd(ex, size_t(B) * D), din(ex, c.din);
      if (info.autoregressive()) {
        switch (info.transform) {
          case ef::FlowTransform::Affine:
            ex.for_each(size_t(B) * D,
                        ef::ops::MafBackward{in.get(), W, h.get(), dzd.get(), dld.get(), D, clamp,
                                             dh.get(), dxd.get()});
            break;
          case ef::FlowTransform::Spline:
            ex.for_each(size_t(B) * D,
                        ef::ops::SplineBackward{xd.get(), h.get(), nullptr, D, D, K, bound,
                                                dzd.get(), dld.get(), dh.get(), dxd.get()});
            break;
        }
        ex.for_each(size_t(B) * D, ef::ops::UnpackGrad{din.get(), Wx, nullptr, D, dxd.get(), D});
      } else {
        ex.copy(dxd.get(), dzd.get(), dz.size() * sizeof(float));
        switch (info.transform) {
          case ef::FlowTransform::Affine:
            ex.for_each(size_t(B) * nt,
                        ef::ops::CouplingBackward{xd.get(), h.get(), tr.get(), nt, D, clamp,
                                                  dzd.get(), dld.get(), dh.get(), dxd.get()});
            break;
          case ef::FlowTransform::Spline:
            ex.for_each(size_t(B) * nt,
                        ef::ops::SplineBackward{xd.get(), h.get(), tr.get(), nt, D, K, bound,
                                                dzd.get(), dld.get(), dh.get(), dxd.get()});
            break;
        }
        if (nP)
          ex.for_each(size_t(B) * nP,
                      ef::ops::UnpackGrad{din.get(), Wx, pass.get(), nP, dxd.get(), D});
      }
      check_close(dh.download(), c.dout, "conditioner output gradient", tol.r(1e-4),
                  tol.r(1e-6));
      check_close(dxd.download(), dx, "dx", tol.r(1e-4), tol.r(1e-6));

      // Inverse of the CPU's z with the conditioner output of the true x: every pass (the
      // autoregressive ones in order) solves its forward equation, so the forward op gives z
      // back. An affine inverse also gives back x and the CPU layer's own inverse to rounding;
      // a spline's amplifies rounding by 1/slope on flat bins, so only its round trip is sharp.
      Buf<Exec, float> zc(ex, z), hr(ex, h_raw), xi(ex, size_t(B) * D);
      if (info.autoregressive()) {
        ex.for_each(x.size(), ef::ops::Fill<float>{xi.get(), 0.f});
        for (int i = 0; i < D; ++i) {
          switch (info.transform) {
            case ef::FlowTransform::Affine:
              ex.for_each(size_t(B),
                          ef::ops::MafInverseStep{zc.get(), hr.get(), D, i, clamp, xi.get()});
              break;
            case ef::FlowTransform::Spline:
              ex.for_each(size_t(B), ef::ops::SplineInverseStep{zc.get(), hr.get(), D, i, K,
                                                                bound, xi.get()});
              break;
          }
        }
      } else {
        ex.copy(xi.get(), zc.get(), z.size() * sizeof(float));
        switch (info.transform) {
          case ef::FlowTransform::Affine:
            ex.for_each(size_t(B) * nt, ef::ops::CouplingInverse{zc.get(), hr.get(), tr.get(), nt,
                                                                 D, clamp, xi.get()});
            break;
          case ef::FlowTransform::Spline:
            ex.for_each(size_t(B) * nt, ef::ops::SplineInverse{zc.get(), hr.get(), tr.get(), nt,
                                                               D, K, bound, xi.get()});
            break;
        }
      }
      const std::vector<float> xback = xi.download();
      if (!info.spline()) {
        check_close(xback, x, "inverse x", tol.r(1e-4), tol.r(1e-5));
        check_close(xback, xinv, "inverse x vs the CPU inverse", tol.r(1e-4), tol.r(1e-5));
      }
      Buf<Exec, float> hb(ex, h_raw), zb(ex, size_t(B) * D), ldb(ex, size_t(B));
      ex.for_each(size_t(B), ef::ops::Fill<float>{ldb.get(), 0.f});
      if (!info.autoregressive()) ex.copy(zb.get(), xi.get(), x.size() * sizeof(float));
      switch (info.transform) {
        case ef::FlowTransform::Affine:
          if (info.autoregressive())
            ex.for_each(size_t(B), ef::ops::MafForward{xi.get(), hb.get(), D, clamp, zb.get(),
                                                       ldb.get()});
          else
            ex.for_each(size_t(B), ef::ops::CouplingForward{xi.get(), hb.get(), tr.get(), nt, D,
                                                            clamp, zb.get(), ldb.get()});
          break;
        case ef::FlowTransform::Spline:
          ex.for_each(size_t(B), ef::ops::SplineForward{xi.get(), hb.get(),
                                                        info.autoregressive() ? nullptr : tr.get(),
                                                        nt, D, K, bound, zb.get(), ldb.get()});
          break;
      }
      check_close(zb.download(), z, "inverse round trip z", tol.r(1e-4), tol.r(2e-5));
    }
  }
}

template <class Exec>
void check_actnorm_perm_base_ops(Exec& ex, const Tol& tol) {
  const int D = 6, B = 257;
  const uint64_t seed = 90;
  const std::vector<float> x = randn(size_t(B) * D, seed), dz = randn(size_t(B) * D, seed + 1);
  const std::vector<float> dlogdet = randn(size_t(B), seed + 2);
  const std::vector<float> logdet0 = randn(size_t(B), seed + 3);

  // ActNorm: z = x exp(logs) + bias.
  {
    ef::ParamLayout lay;
    auto an = ef::make_actnorm_layer<float>(D, lay, "an");
    const size_t logs = lay.tensors()[0].offset, bias = lay.tensors()[1].offset;
    REQUIRE(lay.tensors()[0].name == "an.logs");
    std::vector<float> P = randn(lay.total(), seed + 4, 0.4f);
    ef::LayerCache<float> c;
    std::vector<float> z(x.size()), logdet = logdet0, G = randn(P.size(), seed + 5, 0.1f),
                                    dx(x.size()), xinv(x.size());
    const std::vector<float> G0 = G;
    an->forward(P.data(), x.data(), nullptr, B, z.data(), logdet.data(), c);
    an->backward(P.data(), dz.data(), dlogdet.data(), B, G.data(), dx.data(), nullptr, c);
    an->inverse(P.data(), z.data(), nullptr, B, xinv.data(), c);
    Buf<Exec, float> Pd(ex, P), Gd(ex, G0), xd(ex, x), zd(ex, x.size()), ld(ex, logdet0),
        dzd(ex, dz), dld(ex, dlogdet), dxd(ex, x.size()), zc(ex, z), xi(ex, x.size());
    ex.for_each(size_t(B), ef::ops::ActNormForward{xd.get(), Pd.get() + logs, Pd.get() + bias, D,
                                                   zd.get(), ld.get()});
    ex.for_each(size_t(D), ef::ops::ActNormBackwardParams{xd.get(), dzd.get(), dld.get(),
                                                          Pd.get() + logs, B, D,
                                                          Gd.get() + logs, Gd.get() + bias});
    ex.for_each(x.size(), ef::ops::ActNormBackwardX{dzd.get(), Pd.get() + logs, D, dxd.get()});
    ex.for_each(x.size(), ef::ops::ActNormInverse{zc.get(), Pd.get() + logs, Pd.get() + bias, D,
                                                  xi.get()});
    check_close(zd.download(), z, "actnorm z", tol.r(1e-5), tol.r(1e-6));
    check_close(ld.download(), logdet, "actnorm logdet", tol.r(1e-5), tol.r(1e-6));
    check_close(Gd.download(), G, "actnorm grads", tol.r(1e-4), tol.r(1e-5));
    check_close(dxd.download(), dx, "actnorm dx", tol.r(1e-5), tol.r(1e-6));
    check_close(xi.download(), xinv, "actnorm inverse", tol.r(1e-5), tol.r(1e-6));
  }
  // Permutation: z[r, j] = x[r, perm[j]].
  {
    std::vector<int> perm(static_cast<size_t>(D));
    std::iota(perm.begin(), perm.end(), 0);
    std::rotate(perm.begin(), perm.begin() + 2, perm.end());
    std::swap(perm[0], perm[3]);
    auto pl = ef::make_permutation_layer<float>(perm);
    ef::LayerCache<float> c;
    std::vector<float> z(x.size()), logdet = logdet0, dx(x.size()), xinv(x.size());
    pl->forward(nullptr, x.data(), nullptr, B, z.data(), logdet.data(), c);
    pl->backward(nullptr, dz.data(), dlogdet.data(), B, nullptr, dx.data(), nullptr, c);
    pl->inverse(nullptr, z.data(), nullptr, B, xinv.data(), c);
    Buf<Exec, int> pd(ex, perm);
    Buf<Exec, float> xd(ex, x), zd(ex, x.size()), dzd(ex, dz), dxd(ex, x.size()), zc(ex, z),
        xi(ex, x.size());
    ex.for_each(x.size(), ef::ops::Permute{xd.get(), pd.get(), D, zd.get()});
    ex.for_each(x.size(), ef::ops::Unpermute{dzd.get(), pd.get(), D, dxd.get()});
    ex.for_each(x.size(), ef::ops::Unpermute{zc.get(), pd.get(), D, xi.get()});
    CHECK(zd.download() == z);
    CHECK(dxd.download() == dx);
    CHECK(xi.download() == xinv);
    CHECK(logdet == logdet0);  // volume-preserving
  }
  // Base: log p = logdet + sum log N(z) (added to logp); dz = -dlogp z (engine/flow.cpp).
  {
    const std::vector<float> logp0 = randn(size_t(B), seed + 6), dlogp = randn(size_t(B), seed + 7);
    std::vector<float> logp = logp0, dzb(x.size());
    for (int r = 0; r < B; ++r) {
      float lp = logdet0[size_t(r)];
      for (int i = 0; i < D; ++i) lp += ef::math::log_normal(x[size_t(r) * D + i]);
      logp[size_t(r)] += lp;
      for (int i = 0; i < D; ++i)
        dzb[size_t(r) * D + i] = -dlogp[size_t(r)] * x[size_t(r) * D + i];
    }
    Buf<Exec, float> zd(ex, x), ld(ex, logdet0), lp(ex, logp0), dl(ex, dlogp), dzd(ex, x.size());
    ex.for_each(size_t(B), ef::ops::BaseLogProb{zd.get(), ld.get(), D, lp.get()});
    ex.for_each(x.size(), ef::ops::BaseBackward{zd.get(), dl.get(), D, dzd.get()});
    check_close(lp.download(), logp, "base log p", tol.r(1e-5), tol.r(1e-6));
    check_close(dzd.download(), dzb, "base dz", tol.r(1e-6), tol.r(1e-7));
  }
}

}  // namespace efo
