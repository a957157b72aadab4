// Layer: one invertible step of a flow, in the density direction x -> z.
// Dimension letters: B rows, D transformed dimensions, C context inputs.
// Every layer has an explicit forward, backward and inverse; gradients accumulate with +=.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "masked_mlp.hpp"

namespace ef {

template <class T>
class MadeIncremental;

// What a layer's forward saves for its backward (and reuses as scratch).
template <class T>
struct LayerCache {
  std::vector<T> in;   // (B, D) the x part of the conditioner input [x | ctx]; couplings: x_pass
                       // (the context is read in place, MaskedMLP::forward_ctx)
  std::vector<T> out;  // (B, 2D) conditioner output [mu | a]; couplings (B, 2nT) [t | s_raw],
                       // (B, nT(3K-1)) splines (nT = transformed dims)
  std::vector<T> din;  // gradient w.r.t. the x part of the conditioner input (the shape of in)
  std::vector<T> dout;  // gradient w.r.t. the conditioner output (the shape of out)
  std::vector<T> x;    // couplings: (B, nT) inputs of the transformed dims, kept for backward
  std::vector<T> tmp;  // couplings: scratch rows of the transformed dims, contiguous, so the
                       // exp/tanh loops vectorize apart from the gather/scatter by dim index
  MlpCache<T> mlp, scratch;
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string name() const = 0;
  // z (B, D) = f(x (B, D); ctx (B, C)); logdet[b] += log|det df/dx| of row b. The conditioner
  // reads ctx in place (every layer of a flow shares it): it must stay alive and unchanged until
  // backward.
  virtual void forward(const T* P, const T* x, const T* ctx, int B, T* z, T* logdet,
                       LayerCache<T>& c) const = 0;
  // From dz = dL/dz (B, D) and dlogdet = dL/dlogdet (B): grads += dL/dP, dx = dL/dx (B, D,
  // overwritten), dctx += dL/dctx (B, C; null to skip). Uses what the last forward saved in c.
  virtual void backward(const T* P, const T* dz, const T* dlogdet, int B, T* grads, T* dx, T* dctx,
                        LayerCache<T>& c) const = 0;
  // x = f^{-1}(z; ctx).
  virtual void inverse(const T* P, const T* z, const T* ctx, int B, T* x,
                       LayerCache<T>& c) const = 0;
  virtual void init(T* /*P*/) const {}
  // Data-dependent initialization from this layer's inputs (ActNorm); default: nothing.
  virtual void init_from_data(T* /*P*/, const T* /*x*/, int /*N*/) const {}
  virtual double flops_per_row() const { return 0; }
  // The conditioner, for tests (null when the layer has none).
  virtual const MaskedMLP<T>* conditioner() const { return nullptr; }
  // Autoregressive layers (MAF, nsf-ar): which conditioner units each inverse pass needs
  // (engine/made_incremental.hpp), for backends that run that inverse themselves.
  virtual const MadeIncremental<T>* made_incremental() const { return nullptr; }
};

// Factories (one file each).
template <class T>
std::unique_ptr<Layer<T>> make_maf_layer(int D, int C, const std::vector<int>& hidden,
                                         Activation act, Degrees deg, double clamp, uint64_t seed,
                                         ParamLayout& layout, const std::string& prefix);
template <class T>
std::unique_ptr<Layer<T>> make_coupling_layer(const std::vector<int>& mask, int C,
                                              const std::vector<int>& hidden, Activation act,
                                              double clamp, uint64_t seed, ParamLayout& layout,
                                              const std::string& prefix);
// Neural spline flows (Durkan et al. 2019): monotone rational-quadratic splines with `bins` bins
// on [-tail_bound, tail_bound], identity outside (kernels/spline_math.hpp).
template <class T>
std::unique_ptr<Layer<T>> make_spline_coupling_layer(const std::vector<int>& mask, int C,
                                                     const std::vector<int>& hidden,
                                                     Activation act, int bins, double tail_bound,
                                                     uint64_t seed, ParamLayout& layout,
                                                     const std::string& prefix);
template <class T>
std::unique_ptr<Layer<T>> make_spline_ar_layer(int D, int C, const std::vector<int>& hidden,
                                               Activation act, Degrees deg, int bins,
                                               double tail_bound, uint64_t seed,
                                               ParamLayout& layout, const std::string& prefix);
template <class T>
std::unique_ptr<Layer<T>> make_actnorm_layer(int D, ParamLayout& layout, const std::string& prefix);
template <class T>
std::unique_ptr<Layer<T>> make_permutation_layer(std::vector<int> perm);

// MADE degrees (Germain et al. 2015), general form: in_deg / out_deg give each input / output
// unit a degree in [0, G] (0 = context, seen by everything; g = the g-th autoregressive group).
// Hidden units get degrees in [lo, G-1] with lo = 0 when there is a context (so the first group
// can still read it) else min(1, G-1). Hidden unit k sees unit j below iff deg_k >= deg_j; an
// output sees hidden unit k iff its degree > deg_k. Returns the masks of the MLP
// [in, hidden..., out]; degrees_out (optional) receives every layer's degrees.
template <class T>
std::vector<std::vector<T>> made_masks_general(const std::vector<int>& in_deg,
                                               const std::vector<int>& out_deg, int G,
                                               bool has_context, const std::vector<int>& hidden,
                                               Degrees deg, uint64_t seed,
                                               std::vector<std::vector<int>>* degrees_out);

// MAF form: inputs x_i degree i+1 then C context inputs; outputs [mu | a], both heads of
// dimension i with degree i+1. Masks of the MLP [D + C, hidden..., 2D].
template <class T>
std::vector<std::vector<T>> made_masks(int D, int C, const std::vector<int>& hidden, Degrees deg,
                                       uint64_t seed, std::vector<std::vector<int>>* degrees_out);

}  // namespace ef
