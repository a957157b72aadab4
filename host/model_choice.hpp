// Model choice by validation likelihood: which flow kind, and whether the numeric columns left
// on encoder "auto" are quantile-mapped or standardized, is decided by brief fits of each
// candidate scored on the same validation rows. Every candidate is an exact density in original
// units (the encoders' Jacobians included), so their validation NLLs compare like for like.
#pragma once
#include <string>

#include <echoflow/echoflow.hpp>

namespace ef {

struct ModelChoice {
  bool made = false;              // false: nothing to choose (pinned, no numeric column, no validation rows)
  echoflow::FitOptions options;   // the winner's options, with choosing turned off
  std::string summary;            // "chose nsf-ar + quantile (val NLL a; nsf-coupling + quantile b, ...)"
};

// Brief fits: each candidate trains for kChoiceShare of the full run's epochs (at least 2),
// without learning-rate drops; the full fit of the winner follows (Model::fit).
constexpr double kChoiceShare = 0.1;

ModelChoice choose_model(const echoflow::Table& data, const echoflow::FitOptions& opt);

}  // namespace ef
