// ActNorm (Kingma & Dhariwal 2018): z = x exp(logs) + bias per dimension; log|det| = sum logs.
// Data-dependent init makes the layer's output zero-mean, unit-variance on the training data.
#include <cmath>

#include "flow_math.hpp"
#include "layer.hpp"
#include "parallel.hpp"

namespace ef {
namespace {

template <class T>
class ActNormLayer final : public Layer<T> {
 public:
  ActNormLayer(int D, ParamLayout& layout, const std::string& prefix) : D_(D) {
    logs_ = layout.add(prefix + ".logs", size_t(D));
    bias_ = layout.add(prefix + ".bias", size_t(D));
  }
  std::string name() const override { return "actnorm"; }
  void init(T* P) const override {
    for (int i = 0; i < D_; ++i) P[logs_ + i] = P[bias_ + i] = T(0);
  }
  void init_from_data(T* P, const T* x, int N) const override {
    for (int i = 0; i < D_; ++i) {
      double s1 = 0, s2 = 0;
      for (int r = 0; r < N; ++r) s1 += x[size_t(r) * D_ + i];
      const double mean = N ? s1 / N : 0;
      for (int r = 0; r < N; ++r) {
        double d = x[size_t(r) * D_ + i] - mean;
        s2 += d * d;
      }
      const double sd = N > 1 ? std::sqrt(s2 / (N - 1)) : 1.0;
      const double logs = -std::log(sd + 1e-6);
      P[logs_ + i] = T(logs);
      P[bias_ + i] = T(-mean * std::exp(logs));
    }
  }
  void forward(const T* P, const T* x, const T*, int B, T* z, T* logdet,
               LayerCache<T>& c) const override {
    c.in.assign(x, x + size_t(B) * D_);  // backward needs the input for d/dlogs
    T ld = 0;
    for (int i = 0; i < D_; ++i) ld += P[logs_ + i];
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) {
      for (int i = 0; i < D_; ++i)
        z[size_t(r) * D_ + i] = x[size_t(r) * D_ + i] * math::exp(P[logs_ + i]) + P[bias_ + i];
      logdet[r] += ld;
    }
  }
  void backward(const T* P, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T*,
                LayerCache<T>& c) const override {
    const T* x = c.in.data();
    for (int i = 0; i < D_; ++i) {
      const T e = math::exp(P[logs_ + i]);
      T gl = 0, gb = 0;
      for (int r = 0; r < B; ++r) {
        const T g = dz[size_t(r) * D_ + i];
        gl += g * x[size_t(r) * D_ + i] * e + dlogdet[r];
        gb += g;
        dx[size_t(r) * D_ + i] = g * e;
      }
      grads[logs_ + i] += gl;
      grads[bias_ + i] += gb;
    }
  }
  void inverse(const T* P, const T* z, const T*, int B, T* x, LayerCache<T>&) const override {
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r)
      for (int i = 0; i < D_; ++i)
        x[size_t(r) * D_ + i] = (z[size_t(r) * D_ + i] - P[bias_ + i]) * math::exp(-P[logs_ + i]);
  }

 private:
  int D_;
  size_t logs_, bias_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_actnorm_layer(int D, ParamLayout& layout,
                                             const std::string& prefix) {
  return std::make_unique<ActNormLayer<T>>(D, layout, prefix);
}
template std::unique_ptr<Layer<float>> make_actnorm_layer<float>(int, ParamLayout&,
                                                                 const std::string&);
template std::unique_ptr<Layer<double>> make_actnorm_layer<double>(int, ParamLayout&,
                                                                   const std::string&);

}  // namespace ef
