// Rational-quadratic spline coupling (Durkan et al. 2019, "Neural Spline Flows") with binary
// mask m: dimensions with m_i = 1 pass through and condition the rest. The conditioner reads
// [x_pass | ctx] (engine/coupling_split.hpp) and gives, for the k-th transformed dimension i,
// P = 3K - 1 spline parameters h[k*P .. (k+1)*P) = [widths (K) | heights (K) | interior
// derivatives (K-1)]; z_i = RQ(x_i; h_k), log|det| = sum over transformed i of log RQ'(x_i; h_k);
// pass-through dims are copied. A layer with nothing to transform is the identity.
// The splines are kernels/spline_math.hpp (identity outside [-B, B]). The inverse is one pass:
// the conditioner only reads the pass-through half, which z carries unchanged.
// forward leaves the widths/heights softmax in c.out in place of the raw [uw | uh] of every
// transformed element inside [-B, B] (rq_forward_cache), so backward computes no softmax again.
#include <algorithm>

#include "coupling_split.hpp"
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
      : D_(int(mask.size())), K_(bins), P_(math::spline_num_params(bins)), split_(mask, C),
        bound_(T(tail_bound)), seed_(seed) {
    if (split_.trans.empty()) return;  // identity: nothing to transform
    std::vector<int> sizes{split_.width()};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(nT() * P_);  // P spline parameters per transformed dimension
    mlp_ = MaskedMLP<T>(sizes, dense_masks<T>(sizes), act, layout, prefix + ".nn");
  }
  std::string name() const override { return "nsf-coupling"; }
  const MaskedMLP<T>* conditioner() const override { return nT() ? &mlp_ : nullptr; }
  double flops_per_row() const override { return nT() ? mlp_.flops_per_row() : 0.0; }
  void init(T* P) const override {
    if (nT()) mlp_.init(P, seed_, 1e-2);
  }

  void forward(const T* Pm, const T* x, const T* ctx, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_, nt = nT();
    const T bound = bound_;
    std::copy(x, x + size_t(B) * D, z);  // pass-through dims (transformed ones overwritten)
    if (!nt) return;
    split_.pack_x(x, B, D, c.in);  // the context stays the caller's (forward_ctx)
    c.out.resize(size_t(B) * nt * P);
    c.x.resize(size_t(B) * nt);  // backward needs the transformed inputs
    mlp_.forward_ctx(Pm, c.in.data(), split_.width_x(), ctx, B, c.mlp, c.out.data());
    const int* tr = split_.trans.data();
#pragma omp parallel for schedule(static) if (long(B) * nt >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      T* h = c.out.data() + size_t(r) * nt * P;  // keeps the softmax for backward
      T ld = 0;
      for (int k = 0; k < nt; ++k) {
        const size_t e = size_t(r) * D + tr[k];
        const T xi = x[e];
        c.x[size_t(r) * nt + k] = xi;
        T l;
        z[e] = math::rq_forward_cache(xi, h + size_t(k) * P, K, bound, &l);
        ld += l;
      }
      logdet[r] += ld;
    }
  }

  void backward(const T* Pm, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_, nt = nT();
    const T bound = bound_;
    std::copy(dz, dz + size_t(B) * D, dx);  // pass-through dims' direct path
    if (!nt) return;
    c.dout.resize(size_t(B) * nt * P);  // every entry is written below
    const int* tr = split_.trans.data();
#pragma omp parallel for schedule(static) if (long(B) * nt >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * nt * P;
      const T* xt = c.x.data() + size_t(r) * nt;
      T* g = c.dout.data() + size_t(r) * nt * P;
      for (int k = 0; k < nt; ++k) {
        const size_t e = size_t(r) * D + tr[k];
        dx[e] = math::rq_backward_cached(xt[k], h + size_t(k) * P, K, bound, dz[e], dlogdet[r],
                                         g + size_t(k) * P);
      }
    }
    c.din.resize(size_t(B) * split_.width_x());
    mlp_.backward_ctx(Pm, c.mlp, c.dout.data(), B, grads, c.din.data(), dctx, c.scratch);
    split_.add_x_grad(c.din, B, D, dx);
  }

  void inverse(const T* Pm, const T* z, const T* ctx, int B, T* x,
               LayerCache<T>& c) const override {
    const int D = D_, P = P_, K = K_, nt = nT();
    const T bound = bound_;
    std::copy(z, z + size_t(B) * D, x);
    if (!nt) return;
    split_.pack_x(z, B, D, c.in);  // pass-through dims of z equal those of x
    c.out.resize(size_t(B) * nt * P);
    mlp_.forward_ctx(Pm, c.in.data(), split_.width_x(), ctx, B, c.mlp, c.out.data());
    const int* tr = split_.trans.data();
#pragma omp parallel for schedule(static) if (long(B) * nt >= ef::kSplineOmpMinElems)
    for (int r = 0; r < B; ++r) {
      const T* h = c.out.data() + size_t(r) * nt * P;
      for (int k = 0; k < nt; ++k) {
        const size_t e = size_t(r) * D + tr[k];
        x[e] = math::rq_inverse(z[e], h + size_t(k) * P, K, bound);
      }
    }
  }

 private:
  int nT() const { return int(split_.trans.size()); }
  int D_, K_, P_;
  CouplingSplit split_;
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
