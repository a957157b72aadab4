// The fused conditioner-MLP tile algorithm (kernels/ops/fused_mlp.hpp) against
// MaskedMLP::forward/backward (engine/masked_mlp.cpp): outputs, saved hidden activations, input
// gradients and the weight/bias gradients the device backend forms from the dZ it writes. Run by
// the host executor (a team of one per tile) and by a team of threads with a barrier (the tile
// bodies' CUDA decomposition: strided items between syncs, several members), on widths up to
// the fused limit, ragged tiles, masked (MADE) weights, both activations and an empty input.
#include <doctest/doctest.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "ops/fused_mlp.hpp"
#include "flow_math.hpp"
#include "host_exec.hpp"
#include "masked_mlp.hpp"

namespace {

struct Barrier {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0, count = 0, gen = 0;
  void wait() {
    std::unique_lock<std::mutex> l(mu);
    const int g = gen;
    if (++count == n) {
      count = 0;
      ++gen;
      cv.notify_all();
    } else {
      cv.wait(l, [&] { return gen != g; });
    }
  }
};

struct ThreadTeam {
  int r, n;
  Barrier* b;
  int rank() const { return r; }
  int size() const { return n; }
  void sync() const { b->wait(); }
};

struct Case {
  std::vector<int> sizes;
  int B;
  ef::Activation act;
};

void check_near(const std::vector<float>& got, const std::vector<float>& ref, const char* what) {
  REQUIRE(got.size() == ref.size());
  double scale = 0;
  for (float v : ref) scale = std::fmax(scale, std::fabs(v));
  size_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(double(got[i]) - ref[i]) <= 1e-5 * scale + 1e-4 * std::fabs(ref[i]))) ++bad;
  INFO(what, ": ", bad, " of ", ref.size(), " elements off");
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("fused MLP tiles equal MaskedMLP forward and backward") {
  const std::vector<Case> cases = {
      {{5, 16, 12, 10}, 100, ef::Activation::ReLU},  // 100 rows: a ragged last tile
      {{7, 33, 7}, 1, ef::Activation::Tanh},
      {{40, 128, 128, 80}, 70, ef::Activation::ReLU},  // several k chunks, more items than rows
      {{3, 256, 256, 6}, 33, ef::Activation::Tanh},    // the fused limit
      {{0, 12, 4}, 40, ef::Activation::ReLU},          // no input (a coupling with nothing to read)
      {{9, 5}, 65, ef::Activation::ReLU},              // one layer
  };
  for (const Case& c : cases) {
    for (int team : {1, 5}) {
      CAPTURE(c.sizes[1]);
      CAPTURE(c.B);
      CAPTURE(team);
      const int L = int(c.sizes.size()) - 1, B = c.B, n0 = c.sizes[0], nL = c.sizes[size_t(L)];
      std::vector<std::vector<float>> masks;
      for (int l = 0; l < L; ++l) {
        std::vector<float> m(size_t(c.sizes[size_t(l)]) * c.sizes[size_t(l + 1)]);
        for (size_t i = 0; i < m.size(); ++i)
          m[i] = ef::math::rand_uniform(9, uint64_t(l), i) < 0.3 ? 0.f : 1.f;
        masks.push_back(m);
      }
      ef::ParamLayout lay;
      ef::MaskedMLP<float> mlp(c.sizes, masks, c.act, lay, "t");
      std::vector<float> P(lay.total());
      mlp.init(P.data(), 3, 1.0);
      for (int l = 0; l < L; ++l)
        for (int j = 0; j < c.sizes[size_t(l + 1)]; ++j)
          P[mlp.bias_offset(l) + j] = float(0.3 * ef::math::rand_normal(4, uint64_t(l), uint64_t(j)));
      std::vector<float> X(size_t(B) * n0), dY(size_t(B) * nL);
      for (size_t i = 0; i < X.size(); ++i) X[i] = float(ef::math::rand_normal(5, 0, i));
      for (size_t i = 0; i < dY.size(); ++i) dY[i] = float(ef::math::rand_normal(5, 1, i));

      // The reference.
      ef::MlpCache<float> cache, scratch;
      std::vector<float> Yr(size_t(B) * nL), dXr(X.size()), Gr(P.size(), 0.f);
      mlp.forward(P.data(), X.data(), B, cache, Yr.data());
      mlp.backward(P.data(), cache, dY.data(), B, Gr.data(), n0 ? dXr.data() : nullptr, scratch);

      // The fused tiles, with every output NaN-filled first.
      ef::ops::FusedMlp d;
      d.L = L;
      d.act = c.act == ef::Activation::ReLU ? ef::ops::Act::ReLU : ef::ops::Act::Tanh;
      std::vector<std::vector<float>> H(size_t(L) + 1);
      std::vector<std::vector<float>> dZ(static_cast<size_t>(L));
      for (int l = 0; l <= L; ++l) {
        d.sizes[l] = c.sizes[size_t(l)];
        d.max_width = std::max(d.max_width, d.sizes[l]);
      }
      for (int l = 0; l < L; ++l) {
        d.W[l] = P.data() + mlp.weight_offset(l);
        d.b[l] = P.data() + mlp.bias_offset(l);
        if (l > 0) {
          H[size_t(l)].assign(size_t(B) * c.sizes[size_t(l)], NAN);
          d.h[l] = H[size_t(l)].data();
        }
        dZ[size_t(l)].assign(size_t(B) * c.sizes[size_t(l + 1)], NAN);
      }
      std::vector<float*> dz;
      for (int l = 0; l + 1 < L; ++l) dz.push_back(dZ[size_t(l)].data());
      std::vector<float> Y(Yr.size(), NAN), dX(X.size(), NAN);
      const int tiles = (B + ef::ops::kFusedTileRows - 1) / ef::ops::kFusedTileRows;
      if (team == 1) {
        ef::HostExec ex;
        ex.fused_mlp_forward(d, X.data(), B, Y.data());
        ex.fused_mlp_backward(d, dY.data(), dz.data(), dX.data(), B);
      } else {
        std::vector<float> s(ef::ops::fused_scratch_floats(d.max_width), NAN);
        for (int t = 0; t < tiles; ++t) {
          for (int pass = 0; pass < 2; ++pass) {
            Barrier bar;
            bar.n = team;
            std::vector<std::thread> th;
            for (int r = 0; r < team; ++r)
              th.emplace_back([&, r] {
                const ThreadTeam tm{r, team, &bar};
                if (pass == 0)
                  ef::ops::fused_mlp_forward_tile(tm, d, X.data(), B, t, Y.data(), s.data());
                else
                  ef::ops::fused_mlp_backward_tile(tm, d, dY.data(), dz.data(), dX.data(), B, t,
                                                   s.data());
              });
            for (auto& x : th) x.join();
          }
        }
      }
      check_near(Y, Yr, "Y");
      for (int l = 1; l < L; ++l) check_near(H[size_t(l)], cache.h[size_t(l)], "hidden");
      if (n0) check_near(dX, dXr, "dX");
      // Weight and bias gradients from dZ (dZ[L-1] = dY), masked: the backend's GEMMs.
      std::vector<float> G(P.size(), 0.f);
      for (int l = 0; l < L; ++l) {
        const int nin = c.sizes[size_t(l)], nout = c.sizes[size_t(l + 1)];
        const float* dzl = l == L - 1 ? dY.data() : dZ[size_t(l)].data();
        const float* in = l == 0 ? X.data() : H[size_t(l)].data();
        for (int r = 0; r < B; ++r)
          for (int j = 0; j < nout; ++j) {
            const float g = dzl[size_t(r) * nout + j];
            G[mlp.bias_offset(l) + j] += g;
            for (int k = 0; k < nin; ++k)
              G[mlp.weight_offset(l) + size_t(j) * nin + k] +=
                  g * in[size_t(r) * nin + k] * masks[size_t(l)][size_t(j) * nin + k];
          }
      }
      check_near(G, Gr, "parameter gradients");
    }
  }
}
