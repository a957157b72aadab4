// The flow's size where the config leaves it to the table ("auto"): resolved in one place, at
// fit time, once the encoders say how many continuous dimensions the flow transforms.
#pragma once
#include <cstddef>

#include "tabular_model.hpp"

namespace ef {

// model.bins "auto" (FlowSpec::bins == kAutoBins): kFewDimsBins spline bins when the flow
// transforms at most kFewDims dimensions and the table has at least kFewDimsMinRows rows, else
// kDefaultBins. Few dimensions make the conditioners' spline outputs (dims x (3 bins - 1) per
// layer) a small share of a cheap model, while many tight modes need the finer bins; on a
// smaller table the finer spline fitted worse (bench/results/QUALITY_DEFAULTS.md, "Spline bins
// for few columns").
constexpr int kAutoBins = 0;
constexpr int kDefaultBins = 8;
constexpr int kFewDims = 4;
constexpr int kFewDimsBins = 16;
constexpr size_t kFewDimsMinRows = 10000;
int auto_spline_bins(int dims, size_t rows);

// Replaces every "auto" in spec.flow by its value for spec's parts (call after the layout is
// built) and a table of `rows` rows (all ranks' rows: every rank must resolve the same model).
void resolve_flow_size(TabularSpec& spec, size_t rows);

}  // namespace ef
