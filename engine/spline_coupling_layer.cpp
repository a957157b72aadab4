// Rational-quadratic spline coupling (Durkan et al. 2019, "Neural Spline Flows") with binary
// mask m: dimensions with m_i = 1 pass through and condition the rest. The conditioner reads
// [m*x | ctx] and gives, for every transformed dimension i, P = 3K - 1 spline parameters
// h[i*P .. (i+1)*P) = [widths (K) | heights (K) | interior derivatives (K-1)];
// z_i = m_i x_i + (1 - m_i) RQ(x_i; h_i); log|det| = sum_i (1 - m_i) log RQ'(x_i; h_i).
// The splines are engine/spline_math.hpp (identity outside [-B, B]). The inverse is one pass:
// the conditioner only reads the pass-through half, which z carries unchanged.
// forward leaves the widths/heights softmax in c.out in place of the raw [uw | uh] of every
// transformed element inside [-B, B] (rq_forward_cache), so backward computes no softmax again.
#include <algorithm>

#include "conditioner_io.hpp"
#include "error.hpp"
#include "layer.hpp"
#include "parallel.hpp"
#include "spline_math.hpp"

namespace ef {
namespace {

template <class T>
class SplineCouplingLayer final : public Layer<T> {
 public:
  SplineCouplingLayer(const std::vector<int>& mask, int C, const std::vector<int>& hidden,
                      Activation act, int bins, double tail_bound, uint64_t seed,
                      ParamLayout& layout, const std::string& prefix)
      : D_(int(mask.size())), C_(C), K_(bins), P_(math::spline_num_params(bins)), mask_(mask),
        bound_(T(tail_bound)), seed_(seed) {
    const int D = D_, P = P_;
    std::vector<int> sizes{D + C};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(D * P);
    // Outputs are laid out per dimension, P spline parameters each.
    auto masks = coupling_masks<T>(sizes, mask, [&](int o) { return o / P; });
    mlp_ = MaskedMLP<T>(sizes, std::move(masks), act, layout, prefix + ".nn");
  }
  std::string name() const override { return "nsf-coupling"; }
  const MaskedMLP<T>* conditioner() const override { return &mlp_; }
  double flops_per_row() const override { return mlp_.flops_per_row(); }
  void init(T* P) const override { mlp_.init(P, seed_, 1e-2); }

  void forward(const T* Pm, const T* x, const T* ctx, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_;
    const T bound = bound_;
    pack_input(x, ctx, B, D_, C_, c.in);
    c.out.resize(size_t(B) * D * P);
    mlp_.forward(Pm, c.in.data(), B, c.mlp, c.out.data());
#pragma omp parallel for schedule(static) if (long(B) * D >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      T* h = c.out.data() + size_t(r) * D * P;  // keeps the softmax for backward
      T ld = 0;
      for (int i = 0; i < D; ++i) {
        const T xi = x[size_t(r) * D + i];
        if (mask_[i]) {
          z[size_t(r) * D + i] = xi;
        } else {
          T l;
          z[size_t(r) * D + i] = math::rq_forward_cache(xi, h + size_t(i) * P, K, bound, &l);
          ld += l;
        }
      }
      logdet[r] += ld;
    }
  }

  void backward(const T* Pm, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                LayerCache<T>& c) const override {
    const int D = D_, W = D_ + C_, P = P_, K = K_;
    const T bound = bound_;
    c.dout.resize(size_t(B) * D * P);  // every entry is written below
    c.din.resize(size_t(B) * W);
#pragma omp parallel for schedule(static) if (long(B) * D >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * D * P;
      const T* xr = c.in.data() + size_t(r) * W;
      T* g = c.dout.data() + size_t(r) * D * P;
      for (int i = 0; i < D; ++i) {
        const T gz = dz[size_t(r) * D + i];
        if (mask_[i]) {
          std::fill(g + size_t(i) * P, g + size_t(i + 1) * P, T(0));
          dx[size_t(r) * D + i] = gz;
        } else {
          dx[size_t(r) * D + i] = math::rq_backward_cached(xr[i], h + size_t(i) * P, K, bound,
                                                           gz, dlogdet[r], g + size_t(i) * P);
        }
      }
    }
    mlp_.backward(Pm, c.mlp, c.dout.data(), B, grads, c.din.data(), c.scratch);
    unpack_grad(c.din, B, D_, C_, dx, dctx);
  }

  void inverse(const T* Pm, const T* z, const T* ctx, int B, T* x,
               LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_;
    const T bound = bound_;
    pack_input(z, ctx, B, D_, C_, c.in);  // pass-through dims of z equal those of x
    c.out.resize(size_t(B) * D * P);
    mlp_.forward(Pm, c.in.data(), B, c.mlp, c.out.data());
#pragma omp parallel for schedule(static) if (long(B) * D >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * D * P;
      for (int i = 0; i < D; ++i) {
        const T zi = z[size_t(r) * D + i];
        x[size_t(r) * D + i] = mask_[i] ? zi : math::rq_inverse(zi, h + size_t(i) * P, K, bound);
      }
    }
  }

 private:
  int D_, C_, K_, P_;
  std::vector<int> mask_;
  T bound_;
  uint64_t seed_;
  MaskedMLP<T> mlp_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_spline_coupling_layer(const std::vector<int>& mask, int C,
                                                     const std::vector<int>& hidden,
                                                     Activation act, int bins, double tail_bound,
                                                     uint64_t seed, ParamLayout& layout,
                                                     const std::string& prefix) {
  EF_CHECK(!mask.empty(), "spline coupling layer needs at least one dimension");
  EF_CHECK(bins >= 2 && bins <= math::kSplineMaxBins, "spline bins must be in [2, ",
           math::kSplineMaxBins, "] (got ", bins, ")");
  EF_CHECK(tail_bound > 0 && std::isfinite(tail_bound), "spline tail bound must be > 0 (got ",
           tail_bound, ")");
  return std::make_unique<SplineCouplingLayer<T>>(mask, C, hidden, act, bins, tail_bound, seed,
                                                  layout, prefix);
}

#define EF_INST(T)                                                                          \
  template std::unique_ptr<Layer<T>> make_spline_coupling_layer<T>(                         \
      const std::vector<int>&, int, const std::vector<int>&, Activation, int, double,       \
      uint64_t, ParamLayout&, const std::string&);
EF_INST(float)
EF_INST(double)
#undef EF_INST

}  // namespace ef
