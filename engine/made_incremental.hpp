// The autoregressive inverse of a MADE conditioner in one network evaluation instead of D.
//
// MAF and nsf-ar invert one dimension per pass: pass g (g = 1..G) needs the outputs of degree g,
// which read hidden units of degree <= g - 1 only. Units of degree < g - 1 were final after the
// previous pass (they never see inputs of degree >= g - 1), so pass g only has to compute, in
// every hidden layer, the units of degree exactly g - 1 and then the outputs of degree g. With
// hidden units in ascending degree order (engine/made_masks.cpp) those are one contiguous block
// per layer, reading a prefix of the layer below. Summed over the G passes this is one masked
// forward pass, where re-running the whole network per pass (what the reference inverse and
// zuko/nflows do) costs G full passes: at D = 64 the sampling GEMM work drops ~100-fold.
//
// The result is the same network function evaluated on the same inputs (the GEMMs only skip
// masked zeros), so samples agree with the D-pass inverse to rounding (tested).
#pragma once
#include <algorithm>
#include <utility>
#include <vector>

#include "blas.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "masked_mlp.hpp"
#include "parallel.hpp"

namespace ef {

template <class T>
class MadeIncremental {
 public:
  MadeIncremental() = default;
  // degrees = [input, hidden_1, ..., hidden_L, output] degrees as made_masks_general returns
  // them; hidden degrees must be ascending; G = number of autoregressive groups.
  MadeIncremental(const MaskedMLP<T>* mlp, const std::vector<std::vector<int>>& degrees, int G,
                  Activation act)
      : mlp_(mlp), G_(G), act_(act) {
    const int L = mlp->num_layers();
    EF_CHECK(int(degrees.size()) == L + 1, "MadeIncremental: one degree list per layer expected");
    // Per hidden layer l (1..L-1) and degree d in [0, G]: units [first[l][d], first[l][d+1]).
    first_.assign(L, {});
    for (int l = 1; l < L; ++l) {
      const std::vector<int>& dg = degrees[l];
      EF_CHECK(std::is_sorted(dg.begin(), dg.end()), "MadeIncremental: hidden degrees not sorted");
      std::vector<int> f(G + 2, 0);
      for (int d = 0; d <= G + 1; ++d)
        f[d] = int(std::lower_bound(dg.begin(), dg.end(), d) - dg.begin());
      first_[l] = f;
    }
    std::vector<std::vector<int>> rows(G + 1);
    const std::vector<int>& od = degrees[L];
    for (int o = 0; o < int(od.size()); ++o) {
      EF_CHECK(od[o] >= 1 && od[o] <= G, "MadeIncremental: output degree out of range");
      rows[od[o]].push_back(o);
    }
    // Output rows of each degree as contiguous runs [a, b) (MAF has two: mu_i and a_i).
    out_runs_.assign(G + 1, {});
    for (int g = 0; g <= G; ++g)
      for (size_t a = 0; a < rows[g].size();) {
        size_t b = a + 1;
        while (b < rows[g].size() && rows[g][b] == rows[g][b - 1] + 1) ++b;
        out_runs_[g].push_back({rows[g][a], rows[g][a] + int(b - a)});
        a = b;
      }
  }

  // Pass g: given the packed input X (B, n_0) whose inputs of degree < g are final, computes the
  // hidden units of degree g - 1 (kept in act) and writes the outputs of degree g into Y (B, out),
  // leaving Y's other columns alone. act must be the same across the passes of one inverse.
  void step(const T* params, const T* X, int B, int g, std::vector<std::vector<T>>& act,
            T* Y) const {
    step(params, X, mlp_->sizes()[0], nullptr, B, g, act, Y);
  }
  // The same with the input as two blocks, X = [A (B, na) | ctx (B, n_0 - na)]
  // (MaskedMLP::forward_ctx).
  void step(const T* params, const T* A, int na, const T* ctx, int B, int g,
            std::vector<std::vector<T>>& act, T* Y) const {
    const MaskedMLP<T>& m = *mlp_;
    const int L = m.num_layers();
    const std::vector<int>& n = m.sizes();
    if (g == 1) {
      act.resize(L);
      for (int l = 1; l < L; ++l) act[l].assign(size_t(B) * n[l], T(0));
    }
    const Input input{A, na, ctx};
    for (int l = 1; l < L; ++l) {  // hidden layer l: units of degree g - 1
      const int u0 = first_[l][g - 1], u1 = first_[l][g];
      if (u1 <= u0) continue;
      // Reads the input layer whole (its context columns sit after x; masked weights are zero
      // and not-yet-final inputs are finite), deeper layers the prefix of degree <= g - 1.
      const Input in = l == 1 ? input : Input{act[l - 1].data(), n[l - 1], nullptr};
      const int k = l == 1 ? n[0] : first_[l - 1][g];
      dense_rows(params, l - 1, in, k, B, u0, u1, act[l].data(), n[l], true);
    }
    const int k = L >= 2 ? first_[L - 1][g] : n[0];
    const Input in = L >= 2 ? Input{act[L - 1].data(), n[L - 1], nullptr} : input;
    for (const auto& [a, b] : out_runs_[g]) dense_rows(params, L - 1, in, k, B, a, b, Y, n[L], false);
  }

  // The plan, for backends that run the passes themselves (engine/device_backend_impl.hpp):
  // first()[l][d] is the first unit of degree d in hidden layer l (1..L-1; units of degree d
  // are [first[l][d], first[l][d+1])), out_runs()[g] the output rows of degree g as runs [a, b).
  const std::vector<std::vector<int>>& first() const { return first_; }
  const std::vector<std::vector<std::pair<int, int>>>& out_runs() const { return out_runs_; }
  int groups() const { return G_; }

 private:
  // A layer's input: columns [0, na) in a (row stride na), the rest in ctx (row stride: the
  // layer's input width - na).
  struct Input {
    const T* a;
    int na;
    const T* ctx;
  };

  // out[:, u0:u1] = act(in[:, :k] W_layer[u0:u1, :k]^T + b[u0:u1]).
  void dense_rows(const T* params, int layer, const Input& in, int k, int B, int u0, int u1,
                  T* out, int ld_out, bool activate) const {
    const MaskedMLP<T>& m = *mlp_;
    const int nin = m.sizes()[layer];
    const T* W = params + m.weight_offset(layer) + size_t(u0) * nin;
    const T* b = params + m.bias_offset(layer) + u0;
    const int nu = u1 - u0;
    for (int r = 0; r < B; ++r) std::copy(b, b + nu, out + size_t(r) * ld_out + u0);
    const int ka = std::min(k, in.na), kc = k - ka;
    if (ka > 0) gemm_par(false, true, B, nu, ka, T(1), in.a, in.na, W, nin, T(1), out + u0, ld_out);
    if (kc > 0)
      gemm_par(false, true, B, nu, kc, T(1), in.ctx, nin - in.na, W + in.na, nin, T(1), out + u0, ld_out);
    if (!activate) return;
#pragma omp parallel for schedule(static) if (size_t(B) * size_t(nu) >= ef::kOmpMinElems)
    for (int r = 0; r < B; ++r) {
      T* o = out + size_t(r) * ld_out + u0;
      if (act_ == Activation::ReLU) {
        for (int u = 0; u < nu; ++u) o[u] = o[u] > T(0) ? o[u] : T(0);
      } else {
        for (int u = 0; u < nu; ++u) o[u] = math::tanh(o[u]);
      }
    }
  }

  const MaskedMLP<T>* mlp_ = nullptr;
  int G_ = 0;
  Activation act_ = Activation::ReLU;
  std::vector<std::vector<int>> first_;     // [layer][degree] first unit of that degree
  std::vector<std::vector<std::pair<int, int>>> out_runs_;  // [degree] output row runs [a, b)
};

}  // namespace ef
