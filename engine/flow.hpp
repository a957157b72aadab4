// Flow: a stack of layers over a standard normal base, in the density direction x -> z.
//   log p(x | ctx) = log N(f(x; ctx); 0, I) + sum_layers log|det df_l/dx|
// Layer order for each of spec.layers steps: [ActNorm] -> MAF, coupling, spline coupling or
// spline autoregressive -> [permutation].
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "flow_spec.hpp"
#include "layer.hpp"

namespace ef {

template <class T>
struct FlowWorkspace {
  std::vector<LayerCache<T>> caches;  // one per layer
  std::vector<std::vector<T>> acts;   // acts[0] = x, acts[l + 1] = output of layer l  (B, D)
  std::vector<T> logdet;              // (B)
  std::vector<T> dcur, dnext;         // (B, D) gradients flowing backward
  std::vector<T> dlogdet;             // (B)
};

template <class T>
class Flow {
 public:
  Flow(const FlowSpec& spec, ParamLayout& layout, const std::string& prefix);
  const FlowSpec& spec() const { return spec_; }
  int dim() const { return spec_.dim; }
  int context() const { return spec_.context; }
  size_t num_layers() const { return layers_.size(); }
  const Layer<T>& layer(size_t i) const { return *layers_[i]; }
  double flops_per_row() const;  // multiply-adds x2 of one forward pass

  void init(T* P) const;
  // ActNorm data-dependent init: pushes x through the layers, initializing each ActNorm from
  // its own inputs. x (N, dim), ctx (N, context).
  void init_from_data(T* P, const T* x, const T* ctx, int N, FlowWorkspace<T>& ws) const;
  static constexpr int kInitChunkRows = 512;  // rows per forward pass in init_from_data
  // logp (B) = log p(x | ctx). Saves what backward needs in ws; ctx is read in place by every
  // layer, so it must stay alive and unchanged until backward.
  void log_prob(const T* P, const T* x, const T* ctx, int B, T* logp, FlowWorkspace<T>& ws) const;
  // After log_prob on ws: given dlogp = dL/dlogp (B): grads += dL/dP; dx = dL/dx (B, D,
  // overwritten; null to skip); dctx += dL/dctx (B, C; null to skip).
  void backward(const T* P, const T* dlogp, int B, T* grads, T* dx, T* dctx,
                FlowWorkspace<T>& ws) const;
  // x = f^{-1}(z; ctx) (B, D).
  void inverse(const T* P, const T* z, const T* ctx, int B, T* x, FlowWorkspace<T>& ws) const;
  // Intermediate points of the inverse pass: out[0] = z, out[k] = after undoing the last k
  // layers (for the layer-by-layer picture).
  void inverse_trace(const T* P, const T* z, const T* ctx, int B, std::vector<std::vector<T>>& out,
                     FlowWorkspace<T>& ws) const;

 private:
  FlowSpec spec_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
};

// The mask of coupling step l (1 = pass through) and the permutation after step l, as the spec
// and its seed define them.
std::vector<int> coupling_mask(const FlowSpec& spec, int l);
std::vector<int> layer_permutation(const FlowSpec& spec, int l);

}  // namespace ef
