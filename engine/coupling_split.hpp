// The two halves of a coupling layer's mask, and the conditioner's compact input and output.
// A coupling conditioner reads only the pass-through dims (mask = 1) and the context, and writes
// parameters only for the transformed dims (mask = 0). Gathering those columns, instead of
// feeding all D dims through a masked dense layer, keeps the first and last GEMMs at their useful
// size: for an even split the last layer (the widest one for splines, 3K - 1 outputs per dim)
// does half the work.
//   conditioner input  (B, W) = [x[:, pass] | ctx]   W = max(1, n_pass + C)
//   (a table with one column and no context has nothing to condition on; the conditioner then
//   reads one constant zero column, so its output is a learned constant, its bias)
#pragma once
#include <algorithm>
#include <vector>

#include "error.hpp"
#include "parallel.hpp"

namespace ef {

struct CouplingSplit {
  std::vector<int> pass, trans;  // dims with mask = 1 / mask = 0, ascending
  int C = 0;                     // context width
  int width() const { return std::max(1, int(pass.size()) + C); }

  CouplingSplit() = default;
  CouplingSplit(const std::vector<int>& mask, int ctx) : C(ctx) {
    for (int i = 0; i < int(mask.size()); ++i) (mask[i] ? pass : trans).push_back(i);
  }

  // in (B, width()) = [x[:, pass] | ctx] (x has D columns).
  template <class T>
  void pack(const T* x, const T* ctx, int B, int D, std::vector<T>& in) const {
    const int W = width(), nP = int(pass.size());
    in.resize(size_t(B) * W);
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) {
      T* o = &in[size_t(r) * W];
      for (int k = 0; k < nP; ++k) o[k] = x[size_t(r) * D + pass[k]];
      for (int j = 0; j < C; ++j) o[nP + j] = ctx[size_t(r) * C + j];
      if (nP + C == 0) o[0] = T(0);
    }
  }

  // The conditioner input without its context: the layers pass ctx as its own block
  // (MaskedMLP::forward_ctx), so a batch holds the context once for every layer.
  int width_x() const { return width() - C; }  // n_pass, or the one zero column
  // in (B, width_x()) = x[:, pass] (or zeros).
  template <class T>
  void pack_x(const T* x, int B, int D, std::vector<T>& in) const {
    const int W = width_x(), nP = int(pass.size());
    in.assign(size_t(B) * W, T(0));
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r)
      for (int k = 0; k < nP; ++k) in[size_t(r) * W + k] = x[size_t(r) * D + pass[k]];
  }
  // dx[:, pass] += din (B, width_x()).
  template <class T>
  void add_x_grad(const std::vector<T>& din, int B, int D, T* dx) const {
    const int W = width_x(), nP = int(pass.size());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r)
      for (int k = 0; k < nP; ++k) dx[size_t(r) * D + pass[k]] += din[size_t(r) * W + k];
  }

  // dx[:, pass] += din[:, :n_pass]; dctx += din[:, n_pass:] (dctx may be null).
  template <class T>
  void unpack_grad(const std::vector<T>& din, int B, int D, T* dx, T* dctx) const {
    const int W = width(), nP = int(pass.size());
#pragma omp parallel for schedule(static) if (B >= ef::kOmpMinRows)
    for (int r = 0; r < B; ++r) {
      const T* g = &din[size_t(r) * W];
      for (int k = 0; k < nP; ++k) dx[size_t(r) * D + pass[k]] += g[k];
      if (dctx)
        for (int j = 0; j < C; ++j) dctx[size_t(r) * C + j] += g[nP + j];
    }
  }
};

// Dense masks (all ones) for an MLP with these layer sizes: a compact coupling conditioner has
// no structural zeros left.
template <class T>
std::vector<std::vector<T>> dense_masks(const std::vector<int>& sizes) {
  std::vector<std::vector<T>> m;
  for (size_t l = 0; l + 1 < sizes.size(); ++l)
    m.emplace_back(size_t(sizes[l]) * sizes[l + 1], T(1));
  return m;
}

}  // namespace ef
