// JointModel: the density of an encoded row split into blocks (DESIGN section 2):
//   log p(u) = log p_C(u_C | e) + log p_R(u_R | u_C, e)
// u = [u_C (B, Dc) | u_R (B, Dr)], e (B, E) an external context (later: one-hot categoricals).
// Either block may be empty. Block C is what `--given` conditions on.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "flow.hpp"

namespace ef {

struct ModelSpec {
  FlowSpec flow;     // hyper-parameters shared by both blocks (dim/context filled per block)
  int dim_c = 0;     // conditional block
  int dim_r = 0;     // the rest
  int ext_context = 0;
  int dim() const { return dim_c + dim_r; }
};

template <class T>
struct ModelWorkspace {
  FlowWorkspace<T> c, r;
  std::vector<T> uc, ur, ctx_r, lp_c, lp_r;
};

template <class T>
class JointModel {
 public:
  explicit JointModel(const ModelSpec& spec);
  const ModelSpec& spec() const { return spec_; }
  const ParamLayout& layout() const { return layout_; }
  size_t num_params() const { return layout_.total(); }
  const Flow<T>* flow_c() const { return flow_c_.get(); }
  const Flow<T>* flow_r() const { return flow_r_.get(); }
  double flops_per_row() const;

  void init(T* P) const;
  void init_from_data(T* P, const T* u, const T* ext, int N, ModelWorkspace<T>& ws) const;
  // logp (B) of rows u (B, D).
  void log_prob(const T* P, const T* u, const T* ext, int B, T* logp, ModelWorkspace<T>& ws) const;
  // After log_prob: grads += dL/dP for dL/dlogp = dlogp (B).
  void backward(const T* P, const T* dlogp, int B, T* grads, ModelWorkspace<T>& ws) const;
  // Draws B rows u (B, D). With given_c (B, Dc) non-null, block C is fixed to it and block R
  // is drawn from p(u_R | u_C, e). Random numbers come from (seed, row_offset + r).
  void sample(const T* P, int B, uint64_t seed, uint64_t row_offset, const T* given_c,
              const T* ext, T* u, ModelWorkspace<T>& ws) const;

 private:
  ModelSpec spec_;
  ParamLayout layout_;
  std::unique_ptr<Flow<T>> flow_c_, flow_r_;
};

}  // namespace ef
