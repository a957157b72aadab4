// Fixed permutation of dimensions between flow layers: z_j = x_{perm[j]}, volume preserving.
#include "layer.hpp"
#include "parallel.hpp"

namespace ef {
namespace {

template <class T>
class PermutationLayer final : public Layer<T> {
 public:
  explicit PermutationLayer(std::vector<int> perm) : perm_(std::move(perm)) {}
  std::string name() const override { return "permutation"; }
  // z_j = x_{perm[j]}; volume preserving.
  void forward(const T*, const T* x, const T*, int B, T* z, T*, LayerCache<T>&) const override {
    const int D = int(perm_.size());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < D; ++j) z[size_t(r) * D + j] = x[size_t(r) * D + perm_[j]];
  }
  void backward(const T*, const T* dz, const T*, int B, T*, T* dx, T*,
                LayerCache<T>&) const override {
    const int D = int(perm_.size());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < D; ++j) dx[size_t(r) * D + perm_[j]] = dz[size_t(r) * D + j];
  }
  void inverse(const T*, const T* z, const T*, int B, T* x, LayerCache<T>&) const override {
    const int D = int(perm_.size());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < D; ++j) x[size_t(r) * D + perm_[j]] = z[size_t(r) * D + j];
  }

 private:
  std::vector<int> perm_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_permutation_layer(std::vector<int> perm) {
  return std::make_unique<PermutationLayer<T>>(std::move(perm));
}

template std::unique_ptr<Layer<float>> make_permutation_layer<float>(std::vector<int>);
template std::unique_ptr<Layer<double>> make_permutation_layer<double>(std::vector<int>);

}  // namespace ef
