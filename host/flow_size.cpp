#include "flow_size.hpp"

namespace ef {

int auto_spline_bins(int dims, size_t rows) {
  return dims <= kFewDims && rows >= kFewDimsMinRows ? kFewDimsBins : kDefaultBins;
}

double auto_tail_bound(bool modes) { return modes ? kModesTailBound : kDefaultTailBound; }

void resolve_flow_size(TabularSpec& spec, size_t rows, bool modes) {
  if (spec.flow.bins == kAutoBins) spec.flow.bins = auto_spline_bins(spec.dims(), rows);
  if (spec.flow.tail_bound == kAutoTailBound) spec.flow.tail_bound = auto_tail_bound(modes);
}

}  // namespace ef
