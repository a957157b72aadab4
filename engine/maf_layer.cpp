// MAF layer (Papamakarios et al. 2017): h = MADE([x | ctx]) gives mu_i, a_i from x_<i;
// alpha_i = c tanh(a_i / c); z_i = (x_i - mu_i) exp(-alpha_i); log|det| = -sum_i alpha_i.
// The inverse needs D sequential passes: pass k fixes x at degree k; each pass evaluates only
// the units the new dimension needs (engine/made_incremental.hpp), one network's worth in all.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "affine_rows.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "conditioner_io.hpp"
#include "layer.hpp"
#include "made_incremental.hpp"
#include "parallel.hpp"

namespace ef {

template <class T>
std::vector<std::vector<T>> made_masks(int D, int C, const std::vector<int>& hidden, Degrees deg,
                                       uint64_t seed, std::vector<std::vector<int>>* degrees_out) {
  std::vector<int> d_in(D + C, 0), d_out(2 * D);
  for (int i = 0; i < D; ++i) d_in[i] = d_out[i] = d_out[D + i] = i + 1;
  return made_masks_general<T>(d_in, d_out, D, C > 0, hidden, deg, seed, degrees_out);
}

namespace {

template <class T>
class MafLayer final : public Layer<T> {
 public:
  MafLayer(int D, int C, const std::vector<int>& hidden, Activation act, Degrees deg,
           double clamp, uint64_t seed, ParamLayout& layout, const std::string& prefix)
      : D_(D), C_(C), clamp_(T(clamp)), seed_(seed) {
    std::vector<int> sizes{D + C};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(2 * D);
    std::vector<std::vector<int>> degrees;
    mlp_ = MaskedMLP<T>(sizes, made_masks<T>(D, C, hidden, deg, seed, &degrees), act, layout,
                        prefix + ".made");
    inc_ = MadeIncremental<T>(&mlp_, degrees, D, act);
  }
  MafLayer(const MafLayer&) = delete;  // inc_ points at mlp_
  MafLayer& operator=(const MafLayer&) = delete;
  std::string name() const override { return "maf"; }
  const MaskedMLP<T>* conditioner() const override { return &mlp_; }
  const MadeIncremental<T>* made_incremental() const override { return &inc_; }
  double flops_per_row() const override { return mlp_.flops_per_row(); }
  void init(T* P) const override { mlp_.init(P, seed_, 1e-2); }

  void forward(const T* P, const T* x, const T* ctx, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    c.in.assign(x, x + size_t(B) * D_);  // the context stays the caller's (forward_ctx)
    c.out.resize(size_t(B) * 2 * D_);
    mlp_.forward_ctx(P, c.in.data(), D_, ctx, B, c.mlp, c.out.data());
    const int D = D_;
    const T cl = clamp_;
    if constexpr (std::is_same_v<T, float>) {
      // The exp/tanh math a block of rows at a time on the widest vectors the CPU has
      // (engine/affine_rows.hpp: same bits), then each row's log-det sum in the loop it had.
      c.tmp.resize(size_t(B) * D);  // alpha
      const int blocks = (B + kAffineRows - 1) / kAffineRows;
#pragma omp parallel for schedule(static) if (size_t(B) * D >= ef::kOmpMinMath)
      for (int bi = 0; bi < blocks; ++bi) {
        const int r0 = bi * kAffineRows, rn = std::min(kAffineRows, B - r0);
        maf_forward_rows(c.out.data() + size_t(r0) * 2 * D, x + size_t(r0) * D, rn, D, cl,
                         z + size_t(r0) * D, c.tmp.data() + size_t(r0) * D);
        for (int r = r0; r < r0 + rn; ++r) {
          const T* a = c.tmp.data() + size_t(r) * D;
          T ld = 0;
          EF_SIMD_REDUCTION(+ : ld)
          for (int i = 0; i < D; ++i) ld -= a[i];
          logdet[r] += ld;
        }
      }
      return;
    }
#pragma omp parallel for schedule(static) if (size_t(B) * D >= ef::kOmpMinMath)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * D;
      const T* xr = x + size_t(r) * D;
      T* zr = z + size_t(r) * D;
      T ld = 0;
      EF_SIMD_REDUCTION(+ : ld)
      for (int i = 0; i < D; ++i) {
        const T alpha = math::soft_clamp(h[D + i], cl);
        zr[i] = math::maf_forward(xr[i], h[i], alpha);
        ld -= alpha;
      }
      logdet[r] += ld;
    }
  }

  void backward(const T* P, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                LayerCache<T>& c) const override {
    const int D = D_;
    c.dout.resize(size_t(B) * 2 * D);
    c.din.resize(size_t(B) * D);
    const T cl = clamp_;
#pragma omp parallel for schedule(static) if (size_t(B) * D >= ef::kOmpMinMath)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * D;
      const T* xr = c.in.data() + size_t(r) * D;
      const T* dzr = dz + size_t(r) * D;
      T* dxr = dx + size_t(r) * D;
      T* g = c.dout.data() + size_t(r) * 2 * D;
      const T dl = dlogdet[r];
      EF_SIMD
      for (int i = 0; i < D; ++i) {
        // One tanh for the clamp and its derivative (1 - tanh^2).
        const T th = cl > T(0) ? math::tanh(h[D + i] / cl) : T(0);
        const T alpha = cl > T(0) ? cl * th : h[D + i];
        const T dalpha = cl > T(0) ? T(1) - th * th : T(1);
        const T e = math::exp(-alpha);
        const T zi = (xr[i] - h[i]) * e;
        const T gz = dzr[i];
        g[i] = -gz * e;                       // dL/dmu
        g[D + i] = (-gz * zi - dl) * dalpha;  // dL/da
        dxr[i] = gz * e;                      // direct path
      }
    }
    mlp_.backward_ctx(P, c.mlp, c.dout.data(), B, grads, c.din.data(), dctx, c.scratch);
    add_grad(c.din, B, D_, dx);
  }

  void inverse(const T* P, const T* z, const T* ctx, int B, T* x,
               LayerCache<T>& c) const override {
    const int D = D_;
    std::fill(x, x + size_t(B) * D, T(0));
    c.in.assign(size_t(B) * D, T(0));  // x, filled in pass by pass; ctx stays the caller's
    c.out.resize(size_t(B) * 2 * D);
    // Pass g computes mu and a of dimension g-1 from the final x_<g-1.
    const T cl = clamp_;
    T* in = c.in.data();
    const T* h = c.out.data();
    inc_.invert(P, in, D, ctx, B, c.mlp.h, c.out.data(), [&](int r0, int rn, int g) {
      const int i = g - 1;
      for (int r = r0; r < r0 + rn; ++r) {
        const T* hr = h + size_t(r) * 2 * D;
        const T xi = math::maf_inverse(z[size_t(r) * D + i], hr[i], math::soft_clamp(hr[D + i], cl));
        x[size_t(r) * D + i] = xi;
        in[size_t(r) * D + i] = xi;
      }
    });
  }

 private:
  int D_, C_;
  T clamp_;
  uint64_t seed_;
  MaskedMLP<T> mlp_;
  MadeIncremental<T> inc_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_maf_layer(int D, int C, const std::vector<int>& hidden,
                                         Activation act, Degrees deg, double clamp, uint64_t seed,
                                         ParamLayout& layout, const std::string& prefix) {
  EF_CHECK(D >= 1, "MAF layer needs at least one dimension");
  return std::make_unique<MafLayer<T>>(D, C, hidden, act, deg, clamp, seed, layout, prefix);
}

template std::unique_ptr<Layer<float>> make_maf_layer<float>(int, int, const std::vector<int>&,
                                                             Activation, Degrees, double, uint64_t,
                                                             ParamLayout&, const std::string&);
template std::unique_ptr<Layer<double>> make_maf_layer<double>(int, int, const std::vector<int>&,
                                                               Activation, Degrees, double,
                                                               uint64_t, ParamLayout&,
                                                               const std::string&);
template std::vector<std::vector<float>> made_masks<float>(int, int, const std::vector<int>&,
                                                           Degrees, uint64_t,
                                                           std::vector<std::vector<int>>*);
template std::vector<std::vector<double>> made_masks<double>(int, int, const std::vector<int>&,
                                                             Degrees, uint64_t,
                                                             std::vector<std::vector<int>>*);

}  // namespace ef
