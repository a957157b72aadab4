#include "flow_size.hpp"

namespace ef {

int auto_spline_bins(int dims, size_t rows) {
  return dims <= kFewDims && rows >= kFewDimsMinRows ? kFewDimsBins : kDefaultBins;
}

void resolve_flow_size(TabularSpec& spec, size_t rows) {
  if (spec.flow.bins == kAutoBins) spec.flow.bins = auto_spline_bins(spec.dims(), rows);
}

}  // namespace ef
