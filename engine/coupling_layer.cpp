// RealNVP affine coupling (Dinh et al. 2017) with binary mask m: dimensions with m_i = 1 pass
// through and condition the rest. [t | s_raw] = NN([m*x | ctx]); s = c tanh(s_raw / c);
// z = m*x + (1-m)*(x exp(s) + t); log|det| = sum_i (1-m_i) s_i. The inverse is one pass because
// the conditioner only reads the pass-through half, which z carries unchanged.
#include <algorithm>

#include "conditioner_io.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "layer.hpp"
#include "parallel.hpp"

namespace ef {
namespace {

template <class T>
class CouplingLayer final : public Layer<T> {
 public:
  CouplingLayer(const std::vector<int>& mask, int C, const std::vector<int>& hidden,
                Activation act, double clamp, uint64_t seed, ParamLayout& layout,
                const std::string& prefix)
      : D_(int(mask.size())), C_(C), mask_(mask), clamp_(T(clamp)), seed_(seed) {
    const int D = D_;
    std::vector<int> sizes{D + C};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(2 * D);
    // Outputs are laid out [t | s_raw], D each.
    auto masks = coupling_masks<T>(sizes, mask, [&](int o) { return o % D; });
    mlp_ = MaskedMLP<T>(sizes, std::move(masks), act, layout, prefix + ".nn");
  }
  std::string name() const override { return "coupling"; }
  const MaskedMLP<T>* conditioner() const override { return &mlp_; }
  double flops_per_row() const override { return mlp_.flops_per_row(); }
  void init(T* P) const override { mlp_.init(P, seed_, 1e-2); }

  void forward(const T* P, const T* x, const T* ctx, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    const int D = D_;
    pack_input(x, ctx, B, D_, C_, c.in);
    c.out.resize(size_t(B) * 2 * D);
    mlp_.forward(P, c.in.data(), B, c.mlp, c.out.data());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * D;
      T ld = 0;
      for (int i = 0; i < D; ++i) {
        const T xi = x[size_t(r) * D + i];
        if (mask_[i]) {
          z[size_t(r) * D + i] = xi;
        } else {
          T s = math::soft_clamp(h[D + i], clamp_);
          z[size_t(r) * D + i] = math::coupling_forward(xi, s, h[i]);
          ld += s;
        }
      }
      logdet[r] += ld;
    }
  }

  void backward(const T* P, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                LayerCache<T>& c) const override {
    const int D = D_, W = D_ + C_;
    c.dout.assign(size_t(B) * 2 * D, T(0));
    c.din.resize(size_t(B) * W);
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * D;
      const T* xr = c.in.data() + size_t(r) * W;
      T* g = c.dout.data() + size_t(r) * 2 * D;
      for (int i = 0; i < D; ++i) {
        const T gz = dz[size_t(r) * D + i];
        if (mask_[i]) {
          dx[size_t(r) * D + i] = gz;
        } else {
          T s = math::soft_clamp(h[D + i], clamp_);
          T e = std::exp(s);
          g[i] = gz;                                                                  // dL/dt
          g[D + i] = (gz * xr[i] * e + dlogdet[r]) * math::soft_clamp_grad(h[D + i], clamp_);
          dx[size_t(r) * D + i] = gz * e;
        }
      }
    }
    mlp_.backward(P, c.mlp, c.dout.data(), B, grads, c.din.data(), c.scratch);
    unpack_grad(c.din, B, D_, C_, dx, dctx);
  }

  void inverse(const T* P, const T* z, const T* ctx, int B, T* x,
               LayerCache<T>& c) const override {
    const int D = D_;
    pack_input(z, ctx, B, D_, C_, c.in);  // pass-through dims of z equal those of x
    c.out.resize(size_t(B) * 2 * D);
    mlp_.forward(P, c.in.data(), B, c.mlp, c.out.data());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * D;
      for (int i = 0; i < D; ++i) {
        const T zi = z[size_t(r) * D + i];
        x[size_t(r) * D + i] =
            mask_[i] ? zi : math::coupling_inverse(zi, math::soft_clamp(h[D + i], clamp_), h[i]);
      }
    }
  }

 private:
  int D_, C_;
  std::vector<int> mask_;
  T clamp_;
  uint64_t seed_;
  MaskedMLP<T> mlp_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_coupling_layer(const std::vector<int>& mask, int C,
                                              const std::vector<int>& hidden, Activation act,
                                              double clamp, uint64_t seed, ParamLayout& layout,
                                              const std::string& prefix) {
  EF_CHECK(!mask.empty(), "coupling layer needs at least one dimension");
  return std::make_unique<CouplingLayer<T>>(mask, C, hidden, act, clamp, seed, layout, prefix);
}

#define EF_INST(T)                                                                            \
  template std::unique_ptr<Layer<T>> make_coupling_layer<T>(                                  \
      const std::vector<int>&, int, const std::vector<int>&, Activation, double, uint64_t,    \
      ParamLayout&, const std::string&);
EF_INST(float)
EF_INST(double)
#undef EF_INST

}  // namespace ef
