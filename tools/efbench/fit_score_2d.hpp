// One model on a 2-D dataset, fitted and scored the one way efbench's quality rows
// (run_2d_model) and bench/bench_mix.cpp report it, so their figures come from one code path:
// fit on the train rows, the model's mean log-density of the test rows ("held-out"), as many
// synthetic rows as test rows (sample seed 1), L_syn = their mean true log-density, L_test = a
// diagonal GMM (gmm_k components, seed 0) fitted on them, scored on the test rows.
#pragma once
#include <chrono>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "gmm.hpp"
#include "measures.hpp"
#include "rows2d.hpp"
#include "synth.hpp"

namespace efbench {

struct FitScore2D {
  echoflow::Model model;      // what was fitted (training() for epochs, lr drops, ...)
  double fit_wall_s = 0;      // wall seconds of Model::fit
  double fit_cpu_s = 0;       // user + sys CPU seconds of Model::fit (this process)
  double heldout_model = 0;   // the model's mean log-density of the test rows
  double l_syn = 0, l_test = 0;
};

inline FitScore2D fit_score_2d(const Dataset2D& ds, const echoflow::FitOptions& opt, int gmm_k) {
  using clock = std::chrono::steady_clock;
  const auto w0 = clock::now();
  const double c0 = cpu_seconds();
  echoflow::Model m = echoflow::Model::fit(table2d(ds.train), opt);
  const double cs = cpu_seconds() - c0;
  const double ws = std::chrono::duration<double>(clock::now() - w0).count();
  const double heldout = mean(m.score(table2d(ds.test)));
  const std::vector<double> syn = rows2d(m.sample(ds.test.size() / 2, {}, 1));
  const double l_syn = mean(ds.logpdf(ds, syn));
  const double l_test = DiagGmm::fit(syn, 2, gmm_k, 0).mean_score(ds.test);
  return {m, ws, cs, heldout, l_syn, l_test};
}

}  // namespace efbench
