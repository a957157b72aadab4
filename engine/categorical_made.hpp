// CategoricalMade: an autoregressive model of G categorical variables with K_g levels each, plus
// a context vector (docs/MATH.md):
//   log p(c | ctx) = sum_g log softmax(h_g(onehot(c_<g), ctx))[c_g]
// h is a MADE (MaskedMLP) whose inputs are the one-hot codes (group g has degree g+1) and the
// context (degree 0), and whose outputs are the logits of every group (group g has degree g+1).
// Exact probability mass, no dequantization.
//
// Shapes: B rows; codes (B, G) ints; one-hot width W = sum_g K_g; ctx (B, C); logits (B, W).
#pragma once
#include <cstdint>
#include <vector>

#include "masked_mlp.hpp"

namespace ef {

template <class T>
struct CatCache {
  std::vector<T> in;       // (B, W) one-hot codes; the context stays the caller's
  std::vector<T> logits;   // (B, W)
  std::vector<T> dlogits;  // (B, W)
  MlpCache<T> mlp, scratch;
};

template <class T>
class CategoricalMade {
 public:
  CategoricalMade() = default;
  CategoricalMade(std::vector<int> levels, int C, const std::vector<int>& hidden, Activation act,
                  Degrees deg, uint64_t seed, ParamLayout& layout, const std::string& prefix);
  int groups() const { return int(levels_.size()); }
  int width() const { return W_; }
  int context() const { return C_; }
  const std::vector<int>& levels() const { return levels_; }
  const std::vector<int>& offsets() const { return off_; }  // start of group g in the one-hot
  const MaskedMLP<T>& mlp() const { return mlp_; }
  double flops_per_row() const { return mlp_.flops_per_row(); }
  void init(T* P) const { mlp_.init(P, seed_, 1e-2); }
  // Output biases = log of the (smoothed) marginal level frequencies in codes (N, G): a fresh
  // model starts at the marginals instead of uniform.
  void init_from_data(T* P, const int* codes, int N) const;

  // logp[b] += log p(codes_b | ctx_b). Saves what backward needs; ctx is not copied, so it must
  // stay alive and unchanged until backward (MaskedMLP::forward_ctx).
  void forward(const T* P, const int* codes, const T* ctx, int B, T* logp, CatCache<T>& c) const;
  // After forward: grads += d/dP of sum_b dlogp_b log p_b; dctx += d/dctx (null to skip).
  void backward(const T* P, const T* dlogp, int B, T* grads, T* dctx, CatCache<T>& c) const;
  // Ancestral draws, one group at a time. fixed (B, G) or null: entries >= 0 are kept (they
  // condition the groups after them only). Uniforms come from (seed, row_offset + r, group).
  void sample(const T* P, const T* ctx, int B, uint64_t seed, uint64_t stream, uint64_t row_offset,
              const int* fixed, int* codes, CatCache<T>& c) const;
  // out (B, stride) columns [col, col + W): the one-hot of codes.
  void onehot(const int* codes, int B, T* out, int stride, int col) const;

 private:
  void pack(const int* codes, int B, std::vector<T>& in) const;  // in (B, W): one-hot (zeros when codes is null)
  std::vector<int> levels_, off_;
  int W_ = 0, C_ = 0;
  uint64_t seed_ = 0;
  MaskedMLP<T> mlp_;
};

}  // namespace ef
