// MADE mask construction (Germain et al. 2015), shared by the MAF layer and the categorical
// model.
#include <algorithm>

#include "error.hpp"
#include "flow_math.hpp"
#include "layer.hpp"

namespace ef {

template <class T>
std::vector<std::vector<T>> made_masks_general(const std::vector<int>& in_deg,
                                               const std::vector<int>& out_deg, int G,
                                               bool has_context, const std::vector<int>& hidden,
                                               Degrees deg, uint64_t seed,
                                               std::vector<std::vector<int>>* degrees_out) {
  EF_CHECK(G >= 1, "MADE needs at least one autoregressive group");
  std::vector<std::vector<int>> degs{in_deg};
  const int lo = has_context ? 0 : std::min(1, G - 1), hi = G - 1;
  for (size_t l = 0; l < hidden.size(); ++l) {
    std::vector<int> d(hidden[l]);
    int prev_min = lo;
    if (l > 0) prev_min = std::max(lo, *std::min_element(degs.back().begin(), degs.back().end()));
    for (int k = 0; k < hidden[l]; ++k) {
      if (deg == Degrees::Sequential || hi <= prev_min) {
        d[k] = std::max(prev_min, lo + k % (hi - lo + 1));
      } else {
        const double u = math::rand_uniform(seed, 77 + l, k);
        d[k] = prev_min + std::min(int(u * (hi - prev_min + 1)), hi - prev_min);
      }
    }
    // Hidden units in ascending degree order: a permutation of the units, so the same network
    // family, but every mask becomes block-triangular (unit k sees a prefix of the layer below),
    // which MaskedMLP turns into GEMMs over column prefixes that skip most masked zeros.
    std::sort(d.begin(), d.end());
    degs.push_back(d);
  }
  std::vector<std::vector<T>> masks;
  for (size_t l = 0; l < degs.size(); ++l) {
    const std::vector<int>& a = degs[l];
    const bool last = l + 1 == degs.size();
    const std::vector<int>& b = last ? out_deg : degs[l + 1];
    std::vector<T> M(b.size() * a.size());
    for (size_t o = 0; o < b.size(); ++o)
      for (size_t j = 0; j < a.size(); ++j)
        M[o * a.size() + j] = (last ? b[o] > a[j] : b[o] >= a[j]) ? T(1) : T(0);
    masks.push_back(std::move(M));
  }
  degs.push_back(out_deg);
  if (degrees_out) *degrees_out = degs;
  return masks;
}

template std::vector<std::vector<float>> made_masks_general<float>(
    const std::vector<int>&, const std::vector<int>&, int, bool, const std::vector<int>&, Degrees,
    uint64_t, std::vector<std::vector<int>>*);
template std::vector<std::vector<double>> made_masks_general<double>(
    const std::vector<int>&, const std::vector<int>&, int, bool, const std::vector<int>&, Degrees,
    uint64_t, std::vector<std::vector<int>>*);

}  // namespace ef
