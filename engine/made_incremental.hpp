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
#include <type_traits>
#include <utility>
#include <vector>

#include "blas.hpp"
#include "dense_f32.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "masked_mlp.hpp"

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
    EF_CHECK(L <= kMaxLayers, "MadeIncremental: at most ", kMaxLayers, " layers");
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

  // The whole inverse: for g = 1..G, pass g computes the hidden units of degree g - 1 (kept in
  // act) and the outputs of degree g into Y (B, out), then finish(r0, rn, g) must turn rows
  // [r0, r0 + rn) of those outputs into the final inputs of degree g in X (B, n_0), which pass
  // g + 1 reads. Rows never mix, so rows are cut into gemm_par's fixed tiles and each tile runs
  // all G passes on its own thread: one OpenMP region per inverse instead of G serial narrow
  // GEMMs, and every GEMM call gets the rows gemm_par would give it (bits independent of the
  // thread count). finish runs inside that region: it must not start OpenMP work of its own.
  template <class F>
  void invert(const T* params, T* X, int B, std::vector<std::vector<T>>& act, T* Y,
              F&& finish) const {
    invert(params, X, mlp_->sizes()[0], nullptr, B, act, Y, std::forward<F>(finish));
  }
  // The same with the input as two blocks, X = [A (B, na) | ctx (B, n_0 - na)]
  // (MaskedMLP::forward_ctx): finish fills A's columns, ctx is read in place, never copied.
  template <class F>
  void invert(const T* params, T* A, int na, const T* ctx, int B,
              std::vector<std::vector<T>>& act, T* Y, F&& finish) const {
    const MaskedMLP<T>& m = *mlp_;
    const int L = m.num_layers();
    const std::vector<int>& n = m.sizes();
    EF_CHECK(na >= 0 && na <= n[0] && (na == n[0] || ctx), "MadeIncremental::invert: ", na, " of ",
             n[0], " inputs in A and no context block");
    act.resize(L);
    // Not cleared: pass g reads only units of degree <= g - 1, all written by then (passes
    // 1..g), so stale values from an earlier call are never read. Clearing cost ~6% of a
    // MAF sample (bench/results/e2e_startup_2026-11-30.md).
    for (int l = 1; l < L; ++l)
      if (act[l].size() < size_t(B) * n[l]) act[l].resize(size_t(B) * n[l]);
    // float with AVX2 + FMA: every block of every pass packed once per call (dense_f32.hpp),
    // in the order step runs them.
    std::vector<std::vector<DenseF32>> packs;
    if constexpr (std::is_same_v<T, float>) {
      if (dense_f32_available()) packs = pack_all(params, na);
    }
    const int tile = kGemmTileRows, tiles = (B + tile - 1) / tile;
    auto one = [&](int t) {
      const int r0 = t * tile, rn = std::min(B, r0 + tile) - r0;
      T* h[kMaxLayers];
      for (int l = 1; l < L; ++l) h[l] = act[l].data() + size_t(r0) * n[l];
      const int nc = n[0] - na;
      const Input x{A + size_t(r0) * na, na, nc > 0 ? ctx + size_t(r0) * nc : nullptr};
      for (int g = 1; g <= G_; ++g) {
        step(params, x, rn, g, h, Y + size_t(r0) * n[L], packs.empty() ? nullptr : packs[g].data());
        finish(r0, rn, g);
      }
    };
    const int threads = std::min(tiles, free_threads());
    if (threads <= 1 || m.executed_flops_per_row() * B < 4e6) {
      for (int t = 0; t < tiles; ++t) one(t);
      return;
    }
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < tiles; ++t) one(t);
  }

  // The plan, for backends that run the passes themselves (engine/device_backend_impl.hpp):
  // first()[l][d] is the first unit of degree d in hidden layer l (1..L-1; units of degree d
  // are [first[l][d], first[l][d+1])), out_runs()[g] the output rows of degree g as runs [a, b).
  const std::vector<std::vector<int>>& first() const { return first_; }
  const std::vector<std::vector<std::pair<int, int>>>& out_runs() const { return out_runs_; }
  int groups() const { return G_; }

 private:
  static constexpr int kMaxLayers = 64;

  // A layer's input: columns [0, na) in a (row stride na), the rest in ctx (row stride: the
  // layer's input width - na).
  struct Input {
    const T* a;
    int na;
    const T* ctx;
  };

  // Pass g over B rows: the input X (B, n_0) has final inputs of degree < g; h[l] (B, n_l),
  // l = 1..L-1, hold the units of degree < g - 1; computes those of degree g - 1 and Y's outputs
  // of degree g.
  // packs: this pass's blocks packed by pack_all (null: the OpenBLAS path).
  void step(const T* params, const Input& X, int B, int g, T* const* h, T* Y,
            const DenseF32* packs) const {
    const MaskedMLP<T>& m = *mlp_;
    const int L = m.num_layers();
    const std::vector<int>& n = m.sizes();
    for (int l = 1; l < L; ++l) {  // hidden layer l: units of degree g - 1
      const int u0 = first_[l][g - 1], u1 = first_[l][g];
      if (u1 <= u0) continue;
      // Reads the input layer whole (its context columns sit after x; masked weights are zero
      // and not-yet-final inputs are finite), deeper layers the prefix of degree <= g - 1.
      const Input in = l == 1 ? X : Input{h[l - 1], n[l - 1], nullptr};
      if (packs) {
        packed_rows(*packs++, in, B, u0, h[l], n[l], true);
        continue;
      }
      const int k = l == 1 ? n[0] : first_[l - 1][g];
      dense_rows(params, l - 1, in, k, B, u0, u1, h[l], n[l], true);
    }
    const int k = L >= 2 ? first_[L - 1][g] : n[0];
    const Input in = L >= 2 ? Input{h[L - 1], n[L - 1], nullptr} : X;
    for (const auto& [a, b] : out_runs_[g]) {
      if (packs) {
        packed_rows(*packs++, in, B, a, Y, n[L], false);
      } else {
        dense_rows(params, L - 1, in, k, B, a, b, Y, n[L], false);
      }
    }
  }

  // The blocks of every pass g (hidden layers with units of degree g - 1, then the output
  // runs), as step visits them, each over the input columns it reads (the first layer's split
  // into the na columns of A and the context).
  std::vector<std::vector<DenseF32>> pack_all(const T* params, int na) const {
    const MaskedMLP<T>& m = *mlp_;
    const int L = m.num_layers();
    const std::vector<int>& n = m.sizes();
    std::vector<std::vector<DenseF32>> packs(G_ + 1);
    auto add = [&](int g, int layer, int k, int u0, int u1) {
      const int nin = n[layer], ka = layer == 0 ? std::min(k, na) : k;
      const T* W = params + m.weight_offset(layer) + size_t(u0) * nin;
      packs[g].emplace_back();
      packs[g].back().pack(u1 - u0, W, ka, W + na, k - ka, nin, params + m.bias_offset(layer) + u0);
    };
    for (int g = 1; g <= G_; ++g) {
      for (int l = 1; l < L; ++l) {
        const int u0 = first_[l][g - 1], u1 = first_[l][g];
        if (u1 > u0) add(g, l - 1, l == 1 ? n[0] : first_[l - 1][g], u0, u1);
      }
      const int k = L >= 2 ? first_[L - 1][g] : n[0];
      for (const auto& [a, b] : out_runs_[g]) add(g, L - 1, k, a, b);
    }
    return packs;
  }

  // out[:, u0:u0 + n] = act(in W^T + b) through a packed block.
  void packed_rows(const DenseF32& p, const Input& in, int B, int u0, T* out, int ld_out,
                   bool activate) const {
    if constexpr (std::is_same_v<T, float>) {
      const int nc = mlp_->sizes()[0] - in.na;  // only read for the first layer (ctx non-null)
      T* o = out + u0;
      p.run(B, in.a, in.na, in.ctx, in.ctx ? nc : 0, activate && act_ == Activation::ReLU, o, ld_out);
      if (activate && act_ != Activation::ReLU)
        for (int r = 0; r < B; ++r)
          for (int u = 0; u < p.columns(); ++u) o[size_t(r) * ld_out + u] = math::tanh(o[size_t(r) * ld_out + u]);
    }
  }

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
    if (ka > 0) gemm(false, true, B, nu, ka, T(1), in.a, in.na, W, nin, T(1), out + u0, ld_out);
    if (kc > 0)
      gemm(false, true, B, nu, kc, T(1), in.ctx, nin - in.na, W + in.na, nin, T(1), out + u0, ld_out);
    if (!activate) return;
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
