// masked_linear kernels against engine/masked_mlp.cpp: a whole conditioner network (3 dense
// layers, random masks) forward and backward, for both activations, at a batch that is not a
// multiple of any block size and one large enough for many column-sum chunks.
#include <vector>

#include "gpu_util.hpp"
#include "kernels/masked_linear.cuh"

using efg::DeviceBuffer;

namespace {

ef::MaskedMLP<float> make_mlp(ef::ParamLayout& lay, ef::Activation act, uint64_t seed) {
  const std::vector<int> sizes{9, 64, 45, 10};  // 45: a partial 32-column tile
  std::vector<std::vector<float>> masks;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    std::vector<float> m(size_t(sizes[l]) * sizes[l + 1]);
    for (size_t i = 0; i < m.size(); ++i)
      m[i] = ef::math::rand_uniform(seed, 40 + l, i) < 0.3 ? 0.f : 1.f;
    masks.push_back(m);
  }
  return ef::MaskedMLP<float>(sizes, masks, act, lay, "t");
}

}  // namespace

TEST_CASE("masked_linear: MLP forward and backward match MaskedMLP") {
  efg::require_gpu();
  efg::GpuContext g;
  for (ef::Activation act : {ef::Activation::ReLU, ef::Activation::Tanh})
    for (int B : {300, 5003}) {
      const uint64_t seed = efg::fresh_seed();
      CAPTURE(seed);
      CAPTURE(B);
      INFO("activation ", ef::to_string(act));
      ef::ParamLayout lay;
      auto mlp = make_mlp(lay, act, seed);
      std::vector<float> P(lay.total(), 0.f);
      efg::randomize_params(mlp, P, seed + 1, 0.3f);
      const int nin = mlp.in_size(), nout = mlp.out_size();
      auto X = efg::randn(size_t(B) * nin, seed + 2);
      auto dY = efg::randn(size_t(B) * nout, seed + 3);
      auto G0 = efg::randn(P.size(), seed + 4, 0.1f);  // grads accumulate: start non-zero

      // CPU reference.
      ef::MlpCache<float> c, s;
      std::vector<float> Y(size_t(B) * nout), dX(size_t(B) * nin), G = G0;
      mlp.forward(P.data(), X.data(), B, c, Y.data());
      mlp.backward(P.data(), c, dY.data(), B, G.data(), dX.data(), s);

      // GPU.
      DeviceBuffer<float> dP(P), dXin(X), ddY(dY), dG(G0);
      DeviceBuffer<float> gY(Y.size()), gdX(dX.size());  // poisoned with NaN
      efg::GpuMlp gm(mlp, act, B);
      gm.forward(g, dP.get(), dXin.get(), B, gY.get());
      gm.backward(g, dP.get(), ddY.get(), B, dG.get(), gdX.get());
      g.sync();
      efg::check_close(gY.download(), Y, "Y");
      efg::check_close(dG.download(), G, "grads");
      efg::check_close(gdX.download(), dX, "dX");
      // Masked weights: their gradients are exactly zero.
      const auto gG = dG.download();
      size_t nonzero = 0;
      for (int l = 0; l < mlp.num_layers(); ++l)
        for (size_t i = 0; i < mlp.mask(l).size(); ++i)
          if (mlp.mask(l)[i] == 0.f && gG[mlp.weight_offset(l) + i] != 0.f) ++nonzero;
      CHECK(nonzero == 0);
    }
}

TEST_CASE("masked_linear: column sums and activation backward, edge shapes") {
  efg::require_gpu();
  efg::GpuContext g;
  for (int rows : {1, 31, 256, 257, 70001})
    for (int cols : {1, 33, 128}) {
      const uint64_t seed = efg::fresh_seed();
      CAPTURE(seed);
      CAPTURE(rows);
      CAPTURE(cols);
      auto A = efg::randn(size_t(rows) * cols, seed);
      auto out0 = efg::randn(size_t(cols), seed + 1);
      std::vector<double> ref(out0.begin(), out0.end());
      for (int r = 0; r < rows; ++r)
        for (int j = 0; j < cols; ++j) ref[j] += A[size_t(r) * cols + j];
      DeviceBuffer<float> dA(A), dOut(out0),
          ws(ef::kernels::masked_linear_backward_workspace(rows, cols));
      ef::kernels::colsum_add_cuda(dA.get(), rows, cols, dOut.get(), ws.get(), g.stream);
      g.sync();
      efg::check_close(dOut.download(), std::vector<float>(ref.begin(), ref.end()), "colsum");
    }
  // Activation backward on its own (ReLU and Tanh formulas of masked_mlp.cpp).
  const size_t n = 1003;
  auto H = efg::randn(n, efg::fresh_seed());
  for (auto act : {ef::kernels::Act::ReLU, ef::kernels::Act::Tanh}) {
    std::vector<float> Hact(H), dH = efg::randn(n, efg::fresh_seed()), ref(n);
    for (size_t i = 0; i < n; ++i) {
      if (act == ef::kernels::Act::Tanh) Hact[i] = std::tanh(H[i]);
      ref[i] = act == ef::kernels::Act::ReLU ? (Hact[i] > 0.f ? dH[i] : 0.f)
                                             : dH[i] * (1.f - Hact[i] * Hact[i]);
    }
    DeviceBuffer<float> dHa(Hact), ddH(dH);
    ef::kernels::activation_backward_cuda(dHa.get(), n, act, ddH.get(), g.stream);
    g.sync();
    efg::check_close(ddH.download(), ref, "activation backward");
  }
}

TEST_CASE("masked_linear: preconditions throw before touching memory") {
  efg::require_gpu();
  efg::GpuContext g;
  DeviceBuffer<float> buf(64);
  CHECK_THROWS_AS(ef::kernels::masked_linear_forward_cuda(g.blas, nullptr, buf.get(), buf.get(), 2,
                                                          2, 2, ef::kernels::Act::ReLU,
                                                          buf.get(), g.stream),
                  ef::Error);
  CHECK_THROWS_AS(ef::kernels::masked_linear_forward_cuda(g.blas, buf.get(), buf.get(), buf.get(),
                                                          2, 0, 2, ef::kernels::Act::ReLU,
                                                          buf.get(), g.stream),
                  ef::Error);
  CHECK_THROWS_AS(ef::kernels::masked_linear_backward_cuda(
                      g.blas, buf.get(), buf.get(), buf.get(), buf.get(), 2, 2, 2,
                      ef::kernels::Act::ReLU, buf.get(), buf.get(), buf.get(), nullptr, g.stream),
                  ef::Error);
}
