// Rational-quadratic spline autoregressive layer (Durkan et al. 2019, the MAF-style variant of
// "Neural Spline Flows"): h = MADE([x | ctx]) gives, for every dimension i, P = 3K - 1 spline
// parameters h[i*P .. (i+1)*P) = [widths (K) | heights (K) | interior derivatives (K-1)] that
// depend on x_<i only (all P outputs of dimension i have degree i+1);
// z_i = RQ(x_i; h_i), log|det| = sum_i log RQ'(x_i; h_i) (kernels/spline_math.hpp, identity
// outside [-B, B]). The inverse needs D sequential passes: pass k fixes x at degree k; each pass
// evaluates only the units the new dimension needs (engine/made_incremental.hpp).
// forward leaves the widths/heights softmax in c.out in place of the raw [uw | uh] of every
// element inside [-B, B] (rq_forward_cache), so backward computes no softmax again.
#include <algorithm>

#include "conditioner_io.hpp"
#include "error.hpp"
#include "layer.hpp"
#include "made_incremental.hpp"
#include "parallel.hpp"
#include "spline_math.hpp"

namespace ef {
namespace {

template <class T>
class SplineArLayer final : public Layer<T> {
 public:
  SplineArLayer(int D, int C, const std::vector<int>& hidden, Activation act, Degrees deg,
                int bins, double tail_bound, uint64_t seed, ParamLayout& layout,
                const std::string& prefix)
      : D_(D), C_(C), K_(bins), P_(math::spline_num_params(bins)), bound_(T(tail_bound)),
        seed_(seed) {
    const int P = P_;
    std::vector<int> sizes{D + C};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(D * P);
    std::vector<int> d_in(D + C, 0), d_out(size_t(D) * P);
    for (int i = 0; i < D; ++i) d_in[i] = i + 1;
    for (int o = 0; o < D * P; ++o) d_out[o] = o / P + 1;
    std::vector<std::vector<int>> degrees;
    mlp_ = MaskedMLP<T>(sizes,
                        made_masks_general<T>(d_in, d_out, D, C > 0, hidden, deg, seed, &degrees),
                        act, layout, prefix + ".made");
    inc_ = MadeIncremental<T>(&mlp_, degrees, D, act);
  }
  SplineArLayer(const SplineArLayer&) = delete;  // inc_ points at mlp_
  SplineArLayer& operator=(const SplineArLayer&) = delete;
  std::string name() const override { return "nsf-ar"; }
  const MaskedMLP<T>* conditioner() const override { return &mlp_; }
  const MadeIncremental<T>* made_incremental() const override { return &inc_; }
  double flops_per_row() const override { return mlp_.flops_per_row(); }
  void init(T* P) const override { mlp_.init(P, seed_, 1e-2); }

  void forward(const T* Pm, const T* x, const T* ctx, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_;
    const T bound = bound_;
    c.in.assign(x, x + size_t(B) * D_);  // the context stays the caller's (forward_ctx)
    c.out.resize(size_t(B) * D * P);
    mlp_.forward_ctx(Pm, c.in.data(), D_, ctx, B, c.mlp, c.out.data());
#pragma omp parallel for schedule(static) if (long(B) * D >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      T* h = c.out.data() + size_t(r) * D * P;  // keeps the softmax for backward
      T ld = 0;
      for (int i = 0; i < D; ++i) {
        T l;
        z[size_t(r) * D + i] =
            math::rq_forward_cache(x[size_t(r) * D + i], h + size_t(i) * P, K, bound, &l);
        ld += l;
      }
      logdet[r] += ld;
    }
  }

  void backward(const T* Pm, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_;
    const T bound = bound_;
    c.dout.resize(size_t(B) * D * P);
    c.din.resize(size_t(B) * D);
#pragma omp parallel for schedule(static) if (long(B) * D >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * D * P;
      const T* xr = c.in.data() + size_t(r) * D;
      T* g = c.dout.data() + size_t(r) * D * P;
      for (int i = 0; i < D; ++i)  // direct path; the conditioner's share is added below
        dx[size_t(r) * D + i] = math::rq_backward_cached(xr[i], h + size_t(i) * P, K, bound,
                                                         dz[size_t(r) * D + i], dlogdet[r],
                                                         g + size_t(i) * P);
    }
    mlp_.backward_ctx(Pm, c.mlp, c.dout.data(), B, grads, c.din.data(), dctx, c.scratch);
    add_grad(c.din, B, D_, dx);
  }

  void inverse(const T* Pm, const T* z, const T* ctx, int B, T* x,
               LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_;
    const T bound = bound_;
    std::fill(x, x + size_t(B) * D, T(0));
    c.in.assign(size_t(B) * D, T(0));  // x, filled in pass by pass; ctx stays the caller's
    c.out.resize(size_t(B) * D * P);
    // Pass g computes the spline of dimension g-1 from the final x_<g-1.
    T* in = c.in.data();
    const T* h = c.out.data();
    inc_.invert(Pm, in, D, ctx, B, c.mlp.h, c.out.data(), [&](int r0, int rn, int g) {
      const int i = g - 1;
      for (int r = r0; r < r0 + rn; ++r) {
        const T xi = math::rq_inverse(z[size_t(r) * D + i], h + size_t(r) * D * P + size_t(i) * P, K, bound);
        x[size_t(r) * D + i] = xi;
        in[size_t(r) * D + i] = xi;
      }
    });
  }

 private:
  int D_, C_, K_, P_;
  T bound_;
  uint64_t seed_;
  MaskedMLP<T> mlp_;
  MadeIncremental<T> inc_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_spline_ar_layer(int D, int C, const std::vector<int>& hidden,
                                               Activation act, Degrees deg, int bins,
                                               double tail_bound, uint64_t seed,
                                               ParamLayout& layout, const std::string& prefix) {
  EF_CHECK(D >= 1, "spline autoregressive layer needs at least one dimension");
  EF_CHECK(bins >= 2 && bins <= math::kSplineMaxBins, "spline bins must be in [2, ",
           math::kSplineMaxBins, "] (got ", bins, ")");
  EF_CHECK(tail_bound > 0 && std::isfinite(tail_bound), "spline tail bound must be > 0 (got ",
           tail_bound, ")");
  return std::make_unique<SplineArLayer<T>>(D, C, hidden, act, deg, bins, tail_bound, seed,
                                            layout, prefix);
}

#define EF_INST(T)                                                                           \
  template std::unique_ptr<Layer<T>> make_spline_ar_layer<T>(                                \
      int, int, const std::vector<int>&, Activation, Degrees, int, double, uint64_t,         \
      ParamLayout&, const std::string&);
EF_INST(float)
EF_INST(double)
#undef EF_INST

}  // namespace ef
