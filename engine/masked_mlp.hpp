// MaskedMLP: the conditioner network of every flow layer. A stack of dense layers whose weight
// matrices are multiplied by fixed 0/1 masks (MADE autoregressive masks). Masked weights are
// stored as zeros and their gradients are zeroed, so every product can be a dense GEMM.
// MADE masks with hidden units in ascending degree order are block-triangular: output unit o
// reads only the input columns [0, extent(o)). The constructor groups the output rows into
// blocks and each block's GEMMs run over its column prefix only (ColumnBlock), skipping the
// all-zero rest of the matrix: about half of a MADE layer's multiply-adds. Columns past a
// block's prefix are zero in the mask, so the result is exactly the dense product.
//
// Shapes (B = batch rows, L = number of dense layers, n_l = sizes[l]):
//   input  X   (B, n_0)          rows are [x (D) | context (C)]
//   layer  W_l (n_{l+1}, n_l)    row-major, in the flat parameter buffer
//          b_l (n_{l+1})
//   hidden h_l = act(h_{l-1} W_l^T + b_l), output without activation.
#pragma once
#include <cstdint>
#include <vector>

#include "dense_f32.hpp"
#include "flow_spec.hpp"
#include "param_layout.hpp"

namespace ef {

template <class T>
struct MlpCache {
  // forward's cache: h[0] = input (forward only, empty after forward_ctx), h[l] = activations of
  // layer l (B, n_l). backward's scratch: h[l] = dL/d(pre-activation) of layer l's output
  // (B, n_{l+1}), l < L - 1.
  std::vector<std::vector<T>> h;
  // forward_ctx: the caller's input blocks, not copied (null after forward: the input is h[0]).
  const T* a = nullptr;
  const T* ctx = nullptr;
  int na = 0;
  // float forward: each column block's weights packed once per call (engine/dense_f32.hpp).
  std::vector<DenseF32> packs;
};

// Output rows [r0, r1) of a layer read input columns [0, k) only (the mask is zero beyond).
struct ColumnBlock {
  int r0, r1, k;
};

template <class T>
class MaskedMLP {
 public:
  MaskedMLP() = default;
  // masks[l] has n_{l+1} * n_l entries (row-major like W_l). `prefix` names tensors.
  MaskedMLP(std::vector<int> sizes, std::vector<std::vector<T>> masks, Activation act,
            ParamLayout& layout, const std::string& prefix);

  int in_size() const { return sizes_.front(); }
  int out_size() const { return sizes_.back(); }
  int num_layers() const { return static_cast<int>(sizes_.size()) - 1; }
  const std::vector<int>& sizes() const { return sizes_; }
  const std::vector<T>& mask(int l) const { return masks_[l]; }
  const std::vector<ColumnBlock>& blocks(int l) const { return blocks_[l]; }
  size_t weight_offset(int l) const { return w_off_[l]; }
  size_t bias_offset(int l) const { return b_off_[l]; }
  // FLOPs (2 x multiply-adds) per row of one forward pass, counted dense (masks included), the
  // convention of the benchmarks; executed_flops_per_row counts what the column blocks compute.
  double flops_per_row() const;
  double executed_flops_per_row() const;

  // Uniform(-1/sqrt(fan_in), +) times the mask; the output layer is scaled by out_scale so a
  // fresh flow starts near the identity.
  void init(T* params, uint64_t seed, double out_scale) const;

  // Y (B, out) = MLP(X (B, in)). Saves activations in cache for backward.
  void forward(const T* params, const T* X, int B, MlpCache<T>& cache, T* Y) const;
  // Given dY (B, out): grads += dL/dparams (masked), dX (B, in) = dL/dX (overwritten, may be
  // null to skip). Uses the activations saved by the last forward on this cache.
  void backward(const T* params, const MlpCache<T>& cache, const T* dY, int B, T* grads, T* dX,
                MlpCache<T>& scratch) const;

  // The same network on the input X = [A (B, na) | ctx (B, in - na)] given as two blocks that
  // are NOT copied: the cache keeps the pointers, so A and ctx must stay alive and unchanged
  // until backward. The layers of a flow all read one context (one-hot codes, thousands of
  // columns for a categorical column with many labels): this way a batch holds it once, not
  // once per layer in its packed input, the MLP's copy of it, its gradient and the backward
  // scratch. The first layer runs as two GEMMs, over A's and ctx's columns of W_0.
  void forward_ctx(const T* params, const T* A, int na, const T* ctx, int B, MlpCache<T>& cache,
                   T* Y) const;
  // After forward_ctx: grads += dL/dparams, dA (B, na) = dL/dA (overwritten; null to skip),
  // dctx (B, in - na) += dL/dctx (null to skip).
  void backward_ctx(const T* params, const MlpCache<T>& cache, const T* dY, int B, T* grads,
                    T* dA, T* dctx, MlpCache<T>& scratch) const;

 private:
  // Layer l reads A (B, na) then ctx (B, in - na) when l == 0, else c.h[l].
  void run_forward(const T* params, const T* A, int na, const T* ctx, int B, MlpCache<T>& c,
                   T* Y) const;
  void run_backward(const T* params, const MlpCache<T>& c, const T* A, int na, const T* ctx,
                    const T* dY, int B, T* grads, T* dA, T* dctx, MlpCache<T>& s) const;

  std::vector<int> sizes_;
  std::vector<std::vector<T>> masks_;
  std::vector<std::vector<ColumnBlock>> blocks_;
  std::vector<size_t> pack_index_;  // layer l's first block in MlpCache::packs
  std::vector<size_t> w_off_, b_off_;
  Activation act_ = Activation::ReLU;
};

}  // namespace ef
