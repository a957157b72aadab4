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

// model.tail_bound "auto" (FlowSpec::tail_bound == kAutoTailBound): kModesTailBound when a
// numeric column is split into modes (host/encoders.hpp), else kDefaultTailBound. Within a mode
// the flow draws a column given the other columns' modes, often a narrow bump of the mode's
// normal scores; base draws outside [-B, B] pass the splines' identity tails and land off the
// bump, toward the mode's edge: at B = 3, about 1% of gridr's draws landed over 4 standard
// deviations from every mode (bench/results/QUALITY_DEFAULTS.md, "Modes").
constexpr double kAutoTailBound = 0;
constexpr double kDefaultTailBound = 3;
constexpr double kModesTailBound = 5;
double auto_tail_bound(bool modes);

// Replaces every "auto" in spec.flow by its value for spec's parts (call after the layout is
// built), a table of `rows` rows (all ranks' rows: every rank must resolve the same model) and
// whether any column is split into modes.
void resolve_flow_size(TabularSpec& spec, size_t rows, bool modes);

}  // namespace ef
