#include "joint_model.hpp"

#include <algorithm>

#include "error.hpp"
#include "flow_math.hpp"

namespace ef {
namespace {
// Block R's context: [u_C | e].
template <class T>
void build_ctx_r(const T* uc, const T* ext, int B, int Dc, int E, std::vector<T>& ctx) {
  const int W = Dc + E;
  ctx.resize(size_t(B) * W);
  for (int r = 0; r < B; ++r) {
    std::copy(uc + size_t(r) * Dc, uc + size_t(r + 1) * Dc, ctx.begin() + size_t(r) * W);
    if (E) std::copy(ext + size_t(r) * E, ext + size_t(r + 1) * E, ctx.begin() + size_t(r) * W + Dc);
  }
}
template <class T>
void split_rows(const T* u, int B, int Dc, int Dr, std::vector<T>& uc, std::vector<T>& ur) {
  const int D = Dc + Dr;
  uc.resize(size_t(B) * Dc);
  ur.resize(size_t(B) * Dr);
  for (int r = 0; r < B; ++r) {
    std::copy(u + size_t(r) * D, u + size_t(r) * D + Dc, uc.begin() + size_t(r) * Dc);
    std::copy(u + size_t(r) * D + Dc, u + size_t(r + 1) * D, ur.begin() + size_t(r) * Dr);
  }
}
}  // namespace

template <class T>
JointModel<T>::JointModel(const ModelSpec& spec) : spec_(spec) {
  EF_CHECK(spec.dim() >= 1, "the model needs at least one continuous dimension");
  if (spec.dim_c > 0) {
    FlowSpec s = spec.flow;
    s.dim = spec.dim_c;
    s.context = spec.ext_context;
    s.seed = math::mix64(spec.flow.seed + 101);
    flow_c_ = std::make_unique<Flow<T>>(s, layout_, "c");
  }
  if (spec.dim_r > 0) {
    FlowSpec s = spec.flow;
    s.dim = spec.dim_r;
    s.context = spec.dim_c + spec.ext_context;
    flow_r_ = std::make_unique<Flow<T>>(s, layout_, "r");
  }
}

template <class T>
double JointModel<T>::flops_per_row() const {
  return (flow_c_ ? flow_c_->flops_per_row() : 0) + (flow_r_ ? flow_r_->flops_per_row() : 0);
}

template <class T>
void JointModel<T>::init(T* P) const {
  std::fill(P, P + num_params(), T(0));
  if (flow_c_) flow_c_->init(P);
  if (flow_r_) flow_r_->init(P);
}

template <class T>
void JointModel<T>::init_from_data(T* P, const T* u, const T* ext, int N,
                                   ModelWorkspace<T>& ws) const {
  split_rows(u, N, spec_.dim_c, spec_.dim_r, ws.uc, ws.ur);
  if (flow_c_) flow_c_->init_from_data(P, ws.uc.data(), ext, N, ws.c);
  if (flow_r_) {
    build_ctx_r(ws.uc.data(), ext, N, spec_.dim_c, spec_.ext_context, ws.ctx_r);
    flow_r_->init_from_data(P, ws.ur.data(), ws.ctx_r.data(), N, ws.r);
  }
}

template <class T>
void JointModel<T>::log_prob(const T* P, const T* u, const T* ext, int B, T* logp,
                             ModelWorkspace<T>& ws) const {
  split_rows(u, B, spec_.dim_c, spec_.dim_r, ws.uc, ws.ur);
  std::fill(logp, logp + B, T(0));
  if (flow_c_) {
    ws.lp_c.resize(B);
    flow_c_->log_prob(P, ws.uc.data(), ext, B, ws.lp_c.data(), ws.c);
    for (int r = 0; r < B; ++r) logp[r] += ws.lp_c[r];
  }
  if (flow_r_) {
    build_ctx_r(ws.uc.data(), ext, B, spec_.dim_c, spec_.ext_context, ws.ctx_r);
    ws.lp_r.resize(B);
    flow_r_->log_prob(P, ws.ur.data(), ws.ctx_r.data(), B, ws.lp_r.data(), ws.r);
    for (int r = 0; r < B; ++r) logp[r] += ws.lp_r[r];
  }
}

template <class T>
void JointModel<T>::backward(const T* P, const T* dlogp, int B, T* grads,
                             ModelWorkspace<T>& ws) const {
  if (flow_c_) flow_c_->backward(P, dlogp, B, grads, nullptr, nullptr, ws.c);
  if (flow_r_) flow_r_->backward(P, dlogp, B, grads, nullptr, nullptr, ws.r);
}

template <class T>
void JointModel<T>::sample(const T* P, int B, uint64_t seed, uint64_t row_offset,
                           const T* given_c, const T* ext, T* u, ModelWorkspace<T>& ws) const {
  const int Dc = spec_.dim_c, Dr = spec_.dim_r, D = Dc + Dr;
  // Base draws: row (row_offset + r), coordinate i uses counter index (row * D + i), so a row's
  // value does not depend on the batch it was drawn in.
  std::vector<T> z(size_t(B) * D);
  for (int r = 0; r < B; ++r)
    for (int i = 0; i < D; ++i)
      z[size_t(r) * D + i] = T(math::rand_normal(seed, 1, (row_offset + uint64_t(r)) * D + i));
  ws.uc.resize(size_t(B) * Dc);
  if (Dc) {
    if (given_c) {
      std::copy(given_c, given_c + size_t(B) * Dc, ws.uc.begin());
    } else {
      std::vector<T> zc(size_t(B) * Dc);
      for (int r = 0; r < B; ++r)
        std::copy(&z[size_t(r) * D], &z[size_t(r) * D + Dc], &zc[size_t(r) * Dc]);
      flow_c_->inverse(P, zc.data(), ext, B, ws.uc.data(), ws.c);
    }
  }
  ws.ur.resize(size_t(B) * Dr);
  if (Dr) {
    std::vector<T> zr(size_t(B) * Dr);
    for (int r = 0; r < B; ++r)
      std::copy(&z[size_t(r) * D + Dc], &z[size_t(r + 1) * D], &zr[size_t(r) * Dr]);
    build_ctx_r(ws.uc.data(), ext, B, Dc, spec_.ext_context, ws.ctx_r);
    flow_r_->inverse(P, zr.data(), ws.ctx_r.data(), B, ws.ur.data(), ws.r);
  }
  for (int r = 0; r < B; ++r) {
    std::copy(&ws.uc[size_t(r) * Dc], &ws.uc[size_t(r + 1) * Dc], u + size_t(r) * D);
    std::copy(&ws.ur[size_t(r) * Dr], &ws.ur[size_t(r + 1) * Dr], u + size_t(r) * D + Dc);
  }
}

template class JointModel<float>;
template class JointModel<double>;

}  // namespace ef
