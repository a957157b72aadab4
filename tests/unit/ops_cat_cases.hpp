// Categorical-head ops (kernels/ops/cat_ops.hpp) against CategoricalMade
// (engine/categorical_made.cpp), run by an executor (tests/unit/ops_harness.hpp): CatLogProb on
// the model's logits gives its log p, CatBackward its logit gradients, and CatSampleGroup, group
// by group on the logits of the CPU's own draws (group g's logits read only the groups before
// it), draws the CPU's codes from the same counters.
#pragma once
#include <vector>

#include "../../kernels/ops/cat_ops.hpp"
#include "categorical_made.hpp"
#include "ops_harness.hpp"

namespace efo {

template <class Exec>
void check_cat_ops(Exec& ex, const Tol& tol) {
  for (int C : {0, 4}) {
    CAPTURE(C);
    const std::vector<int> levels{3, 2, 5, 4};
    const int B = 700, G = int(levels.size());
    ef::ParamLayout lay;
    const ef::CategoricalMade<float> cm(levels, C, {32, 24}, ef::Activation::Tanh,
                                        ef::Degrees::Sequential, 60 + uint64_t(C), lay, "cat");
    const int Wp = cm.width();
    std::vector<float> P(lay.total(), 0.f);
    randomize_mlp(cm.mlp(), P, 61, 0.6f);
    const std::vector<float> ctx = randn(size_t(B) * C, 62);
    const float* cp = C ? ctx.data() : nullptr;
    std::vector<int> codes(size_t(B) * G);
    for (size_t i = 0; i < codes.size(); ++i)
      codes[i] = int(ef::math::rand_u64(63, 0, i) % uint64_t(levels[i % size_t(G)]));
    const std::vector<float> logp0 = randn(size_t(B), 64), dlogp = randn(size_t(B), 65);

    ef::CatCache<float> c;
    std::vector<float> logp = logp0, grads(P.size(), 0.f);
    cm.forward(P.data(), codes.data(), cp, B, logp.data(), c);
    cm.backward(P.data(), dlogp.data(), B, grads.data(), nullptr, c);
    REQUIRE(c.in.size() == size_t(B) * Wp);  // the one-hot codes (the context is read in place)

    Buf<Exec, int> off(ex, cm.offsets()), lev(ex, cm.levels()), cd(ex, codes);
    Buf<Exec, float> logits(ex, c.logits), lp(ex, logp0), dl(ex, dlogp),
        dlogits(ex, size_t(B) * Wp);
    ex.for_each(size_t(B), ef::ops::CatLogProb{logits.get(), Wp, off.get(), lev.get(), G,
                                               cd.get(), G, 0, lp.get()});
    ex.for_each(size_t(B), ef::ops::CatBackward{logits.get(), Wp, off.get(), lev.get(), G,
                                                cd.get(), G, 0, dl.get(), dlogits.get()});
    check_close(lp.download(), logp, "log p", tol.r(1e-5), tol.r(1e-6));
    check_close(dlogits.download(), c.dlogits, "logit gradients", tol.r(1e-4), tol.r(1e-6));

    // Draws: the CPU's, then the logits of those draws for the groups one at a time.
    const uint64_t seed = 66, stream = 101, row_offset = 5000;
    std::vector<int> drawn(codes.size());
    cm.sample(P.data(), cp, B, seed, stream, row_offset, nullptr, drawn.data(), c);
    std::vector<float> lpd(size_t(B), 0.f);
    ef::CatCache<float> c2;
    cm.forward(P.data(), drawn.data(), cp, B, lpd.data(), c2);
    Buf<Exec, float> dlg(ex, c2.logits);
    Buf<Exec, int> out(ex, std::vector<int>(codes.size(), -1));
    for (int g = 0; g < G; ++g)
      ex.for_each(size_t(B), ef::ops::CatSampleGroup{dlg.get(), Wp, cm.offsets()[size_t(g)],
                                                     levels[size_t(g)], out.get(), G, 0, G, g,
                                                     seed, stream, row_offset});
    const std::vector<int> got = out.download();
    // A uniform within rounding of a category boundary may pick the neighbour (on the GPU,
    // whose expf differs): such rows must be rare.
    int differ = 0;
    for (int r = 0; r < B; ++r)
      for (int g = 0; g < G; ++g)
        if (got[size_t(r) * G + g] != drawn[size_t(r) * G + g]) {
          ++differ;
          break;
        }
    CHECK(differ <= (tol.scale > 1 ? B / 100 : 0));
  }
}

}  // namespace efo
