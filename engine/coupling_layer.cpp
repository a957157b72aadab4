// RealNVP affine coupling (Dinh et al. 2017) with binary mask m: dimensions with m_i = 1 pass
// through and condition the rest. [t | s_raw] = NN([x_pass | ctx]), nT values each (one per
// transformed dim, engine/coupling_split.hpp); s = c tanh(s_raw / c); z_pass = x_pass,
// z_i = x_i exp(s_i) + t_i for transformed i; log|det| = sum_trans s_i. The inverse is one pass
// because the conditioner only reads the pass-through half, which z carries unchanged. A layer
// with nothing to transform (one dim, masked) is the identity and has no conditioner.
#include <algorithm>
#include <type_traits>

#include "affine_rows.hpp"

#include "coupling_split.hpp"
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
      : D_(int(mask.size())), split_(mask, C), clamp_(T(clamp)), seed_(seed) {
    if (split_.trans.empty()) return;  // identity: nothing to transform
    std::vector<int> sizes{split_.width()};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(2 * int(split_.trans.size()));  // [t | s_raw], nT each
    mlp_ = MaskedMLP<T>(sizes, dense_masks<T>(sizes), act, layout, prefix + ".nn");
  }
  std::string name() const override { return "coupling"; }
  const MaskedMLP<T>* conditioner() const override { return nT() ? &mlp_ : nullptr; }
  double flops_per_row() const override { return nT() ? mlp_.flops_per_row() : 0.0; }
  void init(T* P) const override {
    if (nT()) mlp_.init(P, seed_, 1e-2);
  }

  void forward(const T* P, const T* x, const T* ctx, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    const int D = D_, nt = nT();
    std::copy(x, x + size_t(B) * D, z);  // pass-through dims (transformed ones overwritten)
    if (!nt) return;
    split_.pack_x(x, B, D, c.in);  // the context stays the caller's (forward_ctx)
    c.out.resize(size_t(B) * 2 * nt);
    mlp_.forward_ctx(P, c.in.data(), split_.width_x(), ctx, B, c.mlp, c.out.data());
    c.x.resize(size_t(B) * nt);  // backward needs the transformed inputs
    c.tmp.resize(size_t(B) * nt);
    const int* tr = split_.trans.data();
    const T cl = clamp_;
    if constexpr (std::is_same_v<T, float>) {
      // A block of rows at a time: gather, the exp/tanh math on the widest vectors the CPU has
      // (engine/affine_rows.hpp: same bits), then per row the log-det sum in the loop it had,
      // and the scatter.
      c.tmp.resize(size_t(B) * 2 * nt);  // [z_trans (B, nt) | s (B, nt)]
      T* zt_all = c.tmp.data();
      T* s_all = c.tmp.data() + size_t(B) * nt;
      const int blocks = (B + kAffineRows - 1) / kAffineRows;
#pragma omp parallel for schedule(static) if (size_t(B) * nt >= ef::kOmpMinMath)
      for (int bi = 0; bi < blocks; ++bi) {
        const int r0 = bi * kAffineRows, rn = std::min(kAffineRows, B - r0);
        for (int r = r0; r < r0 + rn; ++r) {
          const T* xr = x + size_t(r) * D;
          T* xt = c.x.data() + size_t(r) * nt;
          for (int k = 0; k < nt; ++k) xt[k] = xr[tr[k]];
        }
        coupling_forward_rows(c.out.data() + size_t(r0) * 2 * nt, c.x.data() + size_t(r0) * nt, rn, nt,
                              cl, zt_all + size_t(r0) * nt, s_all + size_t(r0) * nt);
        for (int r = r0; r < r0 + rn; ++r) {
          const T* sr = s_all + size_t(r) * nt;
          T ld = 0;
          EF_SIMD_REDUCTION(+ : ld)
          for (int k = 0; k < nt; ++k) ld += sr[k];
          const T* zt = zt_all + size_t(r) * nt;
          T* zr = z + size_t(r) * D;
          for (int k = 0; k < nt; ++k) zr[tr[k]] = zt[k];
          logdet[r] += ld;
        }
      }
      return;
    }
    // Per row: gather the transformed dims, the exp/tanh math on contiguous arrays (it
    // vectorizes; an indexed store in the same loop kept it scalar), then scatter.
#pragma omp parallel for schedule(static) if (size_t(B) * nt >= ef::kOmpMinMath)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * nt;
      const T* xr = x + size_t(r) * D;
      T* xt = c.x.data() + size_t(r) * nt;
      T* zt = c.tmp.data() + size_t(r) * nt;
      for (int k = 0; k < nt; ++k) xt[k] = xr[tr[k]];
      T ld = 0;
      EF_SIMD_REDUCTION(+ : ld)
      for (int k = 0; k < nt; ++k) {
        const T s = math::soft_clamp(h[nt + k], cl);
        zt[k] = math::coupling_forward(xt[k], s, h[k]);
        ld += s;
      }
      T* zr = z + size_t(r) * D;
      for (int k = 0; k < nt; ++k) zr[tr[k]] = zt[k];
      logdet[r] += ld;
    }
  }

  void backward(const T* P, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                LayerCache<T>& c) const override {
    const int D = D_, nt = nT();
    std::copy(dz, dz + size_t(B) * D, dx);  // pass-through dims' direct path
    if (!nt) return;
    c.dout.resize(size_t(B) * 2 * nt);
    c.tmp.resize(size_t(B) * 2 * nt);  // per row: dz of the transformed dims, then their dx
    const int* tr = split_.trans.data();
#pragma omp parallel for schedule(static) if (size_t(B) * nt >= ef::kOmpMinMath)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * nt;
      const T* xt = c.x.data() + size_t(r) * nt;
      T* g = c.dout.data() + size_t(r) * 2 * nt;
      T* gzt = c.tmp.data() + size_t(r) * 2 * nt;
      T* dxt = gzt + nt;
      const T* dzr = dz + size_t(r) * D;
      for (int k = 0; k < nt; ++k) gzt[k] = dzr[tr[k]];
      const T dl = dlogdet[r], cl = clamp_;
      EF_SIMD
      for (int k = 0; k < nt; ++k) {
        const T gz = gzt[k];
        // One tanh for the clamp and its derivative (1 - tanh^2).
        const T th = cl > T(0) ? math::tanh(h[nt + k] / cl) : T(0);
        const T s = cl > T(0) ? cl * th : h[nt + k];
        const T ds = cl > T(0) ? T(1) - th * th : T(1);
        const T ex = math::exp(s);
        g[k] = gz;                                  // dL/dt
        g[nt + k] = (gz * xt[k] * ex + dl) * ds;    // dL/ds_raw
        dxt[k] = gz * ex;
      }
      T* dxr = dx + size_t(r) * D;
      for (int k = 0; k < nt; ++k) dxr[tr[k]] = dxt[k];
    }
    c.din.resize(size_t(B) * split_.width_x());
    mlp_.backward_ctx(P, c.mlp, c.dout.data(), B, grads, c.din.data(), dctx, c.scratch);
    split_.add_x_grad(c.din, B, D, dx);
  }

  void inverse(const T* P, const T* z, const T* ctx, int B, T* x,
               LayerCache<T>& c) const override {
    const int D = D_, nt = nT();
    std::copy(z, z + size_t(B) * D, x);
    if (!nt) return;
    split_.pack_x(z, B, D, c.in);  // pass-through dims of z equal those of x
    c.out.resize(size_t(B) * 2 * nt);
    mlp_.forward_ctx(P, c.in.data(), split_.width_x(), ctx, B, c.mlp, c.out.data());
    c.tmp.resize(size_t(B) * nt);
    const int* tr = split_.trans.data();
    const T cl = clamp_;
#pragma omp parallel for schedule(static) if (size_t(B) * nt >= ef::kOmpMinMath)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * 2 * nt;
      const T* zr = z + size_t(r) * D;
      T* t = c.tmp.data() + size_t(r) * nt;
      for (int k = 0; k < nt; ++k) t[k] = zr[tr[k]];
      EF_SIMD
      for (int k = 0; k < nt; ++k)
        t[k] = math::coupling_inverse(t[k], math::soft_clamp(h[nt + k], cl), h[k]);
      T* xr = x + size_t(r) * D;
      for (int k = 0; k < nt; ++k) xr[tr[k]] = t[k];
    }
  }

 private:
  int nT() const { return int(split_.trans.size()); }
  int D_;
  CouplingSplit split_;
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
