#include "flow.hpp"

#include <algorithm>
#include <numeric>

#include "error.hpp"
#include "flow_math.hpp"
#include "parallel.hpp"

namespace ef {

std::vector<int> coupling_mask(const FlowSpec& spec, int l) {
  const int D = spec.dim;
  std::vector<int> m(D);
  if (spec.masks == CouplingMask::Alternating) {
    for (int i = 0; i < D; ++i) m[i] = (i + l) % 2 == 0;
  } else {
    // A random half passes through (at least one dim transformed when D > 1).
    std::vector<int> idx(D);
    std::iota(idx.begin(), idx.end(), 0);
    for (int i = D - 1; i > 0; --i) {
      int j = int(math::rand_u64(spec.seed, 5000 + l, i) % uint64_t(i + 1));
      std::swap(idx[i], idx[j]);
    }
    for (int k = 0; k < D / 2; ++k) m[idx[k]] = 1;
  }
  return m;
}

std::vector<int> layer_permutation(const FlowSpec& spec, int l) {
  std::vector<int> p(spec.dim);
  std::iota(p.begin(), p.end(), 0);
  if (spec.permutation == Permutation::Reverse) {
    std::reverse(p.begin(), p.end());
  } else if (spec.permutation == Permutation::Random) {
    for (int i = spec.dim - 1; i > 0; --i) {
      int j = int(math::rand_u64(spec.seed, 9000 + l, i) % uint64_t(i + 1));
      std::swap(p[i], p[j]);
    }
  }
  return p;
}

template <class T>
Flow<T>::Flow(const FlowSpec& spec, ParamLayout& layout, const std::string& prefix) : spec_(spec) {
  EF_CHECK(spec.dim >= 1, "a flow needs at least one dimension");
  EF_CHECK(spec.layers >= 1, "a flow needs at least one layer (got ", spec.layers, ")");
  EF_CHECK(spec.context >= 0, "negative context size");
  for (int h : spec.hidden) EF_CHECK(h >= 1, "hidden widths must be positive (got ", h, ")");
  for (int l = 0; l < spec.layers; ++l) {
    const std::string p = prefix + ".layer" + std::to_string(l);
    if (spec.actnorm) layers_.push_back(make_actnorm_layer<T>(spec.dim, layout, p + ".actnorm"));
    const uint64_t seed = math::mix64(spec.seed * 1315423911ULL + uint64_t(l));
    // The kind's factory from the registry (engine/flow_kinds.hpp).
    const LayerFactory<T> make = flow_kind_info(layer_kind(spec, l)).template factory<T>();
    layers_.push_back(make(spec, l, seed, layout, p));
    if (l + 1 < spec.layers && spec.permutation != Permutation::None && spec.dim > 1)
      layers_.push_back(make_permutation_layer<T>(layer_permutation(spec, l)));
  }
}

template <class T>
double Flow<T>::flops_per_row() const {
  double f = 0;
  for (auto& l : layers_) f += l->flops_per_row();
  return f;
}

template <class T>
void Flow<T>::init(T* P) const {
  for (auto& l : layers_) l->init(P);
}

template <class T>
void Flow<T>::init_from_data(T* P, const T* x, const T* ctx, int N, FlowWorkspace<T>& ws) const {
  const int D = spec_.dim, C = spec_.context;
  std::vector<T> cur(x, x + size_t(N) * D), next(size_t(N) * D), ld(N);
  // Forward only, so one cache serves every layer, and the rows go through in chunks: a layer's
  // cache holds its conditioner's activations for the rows of one pass.
  const int chunk = kInitChunkRows;
  ws.caches.resize(1);
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->init_from_data(P, cur.data(), N);
    for (int r0 = 0; r0 < N; r0 += chunk) {
      const int b = std::min(chunk, N - r0);
      layers_[i]->forward(P, cur.data() + size_t(r0) * D, C > 0 ? ctx + size_t(r0) * C : ctx, b,
                          next.data() + size_t(r0) * D, ld.data() + r0, ws.caches[0]);
    }
    std::swap(cur, next);
  }
  ws.caches.clear();
}

template <class T>
void Flow<T>::log_prob(const T* P, const T* x, const T* ctx, int B, T* logp,
                       FlowWorkspace<T>& ws) const {
  const int D = spec_.dim;
  const size_t nl = layers_.size();
  ws.caches.resize(nl);
  ws.acts.resize(nl + 1);
  ws.acts[0].assign(x, x + size_t(B) * D);
  ws.logdet.assign(B, T(0));
  for (size_t i = 0; i < nl; ++i) {
    ws.acts[i + 1].resize(size_t(B) * D);
    layers_[i]->forward(P, ws.acts[i].data(), ctx, B, ws.acts[i + 1].data(), ws.logdet.data(),
                        ws.caches[i]);
  }
  const T* z = ws.acts[nl].data();
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
  for (int r = 0; r < B; ++r) {
    T lp = ws.logdet[r];
    for (int i = 0; i < D; ++i) lp += math::log_normal(z[size_t(r) * D + i]);
    logp[r] = lp;
  }
}

template <class T>
void Flow<T>::backward(const T* P, const T* dlogp, int B, T* grads, T* dx, T* dctx,
                       FlowWorkspace<T>& ws) const {
  const int D = spec_.dim;
  const size_t nl = layers_.size();
  EF_CHECK(ws.acts.size() == nl + 1, "Flow::backward called without a forward");
  // Base: d log N(z) / dz = -z; every layer's log-det enters log p with weight 1.
  ws.dcur.resize(size_t(B) * D);
  ws.dnext.resize(size_t(B) * D);
  ws.dlogdet.assign(dlogp, dlogp + B);
  const T* z = ws.acts[nl].data();
  for (int r = 0; r < B; ++r)
    for (int i = 0; i < D; ++i) ws.dcur[size_t(r) * D + i] = -dlogp[r] * z[size_t(r) * D + i];
  for (size_t k = nl; k-- > 0;) {
    layers_[k]->backward(P, ws.dcur.data(), ws.dlogdet.data(), B, grads, ws.dnext.data(), dctx,
                         ws.caches[k]);
    std::swap(ws.dcur, ws.dnext);
  }
  if (dx) std::copy(ws.dcur.begin(), ws.dcur.end(), dx);
}

template <class T>
void Flow<T>::inverse(const T* P, const T* z, const T* ctx, int B, T* x,
                      FlowWorkspace<T>& ws) const {
  const int D = spec_.dim;
  ws.caches.resize(layers_.size());
  std::vector<T> cur(z, z + size_t(B) * D), next(size_t(B) * D);
  for (size_t k = layers_.size(); k-- > 0;) {
    layers_[k]->inverse(P, cur.data(), ctx, B, next.data(), ws.caches[k]);
    std::swap(cur, next);
  }
  std::copy(cur.begin(), cur.end(), x);
}

template <class T>
void Flow<T>::inverse_trace(const T* P, const T* z, const T* ctx, int B,
                            std::vector<std::vector<T>>& out, FlowWorkspace<T>& ws) const {
  const int D = spec_.dim;
  ws.caches.resize(layers_.size());
  out.assign(1, std::vector<T>(z, z + size_t(B) * D));
  for (size_t k = layers_.size(); k-- > 0;) {
    std::vector<T> next(size_t(B) * D);
    layers_[k]->inverse(P, out.back().data(), ctx, B, next.data(), ws.caches[k]);
    out.push_back(std::move(next));
  }
}

template class Flow<float>;
template class Flow<double>;

}  // namespace ef
