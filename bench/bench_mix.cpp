// bench_mix: the 2-D mixtures on defaults (issue 16), one mixture at a time, with training seeds
// and config overrides, so a change to the defaults can be measured on the rows efbench's
// quality suite reports (same rows and figures as efbench's "echoflow (defaults)" row):
//
//   bench_mix --kind gridr [--seeds 0,1,2] [--set train.epochs=750]...
//
// efbench::make_mixture(KIND, rows, 0): rows train / rows test rows; fitted and scored by
// efbench::fit_score_2d (tools/efbench/fit_score_2d.hpp, as efbench's rows): as many synthetic
// rows (sample seed 1), L_syn = mean true log-density of the synthetic rows; L_test = a diagonal
// GMM (30 components, ring 10) fitted on them, scored on the test rows; "held-out" is the model's
// exact mean log-likelihood of the test rows next to the true density's. CPU seconds: user + sys
// of the fit.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "config.hpp"
#include "fit_score_2d.hpp"
#include "gmm.hpp"
#include "measures.hpp"
#include "synth.hpp"

namespace {

using efbench::mean;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_mix: a 2-D mixture on defaults (L_syn, L_test, held-out)"};
  std::string kind, seeds_s = "0,1,2";
  std::vector<std::string> sets;
  size_t N = 10000;
  int threads = 1;
  app.add_option("--kind", kind, "grid | gridr | ring")->required()->check(CLI::IsMember({"grid", "gridr", "ring"}));
  app.add_option("--seeds", seeds_s, "training seeds, comma-separated");
  app.add_option("--set", sets, "config override KEY=VALUE (repeatable)");
  app.add_option("--rows", N, "train / test / synthetic rows");
  app.add_option("--threads", threads, "train.threads");
  CLI11_PARSE(app, argc, argv);
  try {
    const efbench::Dataset2D ds = efbench::make_mixture(kind, N, 0);
    const int gmm_k = kind == "ring" ? 10 : 30;
    const double real_syn = mean(ds.logpdf(ds, ds.train));
    const double real_test = efbench::DiagGmm::fit(ds.train, 2, gmm_k, 0).mean_score(ds.test);
    const double true_heldout = mean(ds.logpdf(ds, ds.test));
    std::printf("%s: %zu rows; real rows L_syn %.3f L_test %.3f; true held-out %.3f\n", kind.c_str(), N, real_syn,
                real_test, true_heldout);
    std::vector<double> ls, lt;
    std::stringstream ss(seeds_s);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      const int seed = std::stoi(tok);
      std::vector<std::string> ov = {"train.threads=" + std::to_string(threads), "train.seed=" + std::to_string(seed)};
      ov.insert(ov.end(), sets.begin(), sets.end());
      const ef::Config cfg = ef::parse_config("{\"data\": {\"path\": \"\"}}", "defaults", "", ov);
      const efbench::FitScore2D f = efbench::fit_score_2d(ds, ef::fit_options(cfg), gmm_k);
      const double l_syn = f.l_syn, l_test = f.l_test;
      ls.push_back(l_syn);
      lt.push_back(l_test);
      const ef::TrainResult& t = f.model.training();
      std::string drops;
      for (int e : t.lr_drop_epochs) drops += (drops.empty() ? "" : ",") + std::to_string(e);
      std::printf("seed %d: epochs %d of %d (best %d; lr drops after %s), %.1f CPU s; held-out %.3f; L_syn %.3f (d %+.3f) "
                  "L_test %.3f (d %+.3f)\n",
                  seed, t.epochs_run, t.epochs, t.best_epoch, drops.empty() ? "-" : drops.c_str(), f.fit_cpu_s,
                  f.heldout_model, l_syn, l_syn - real_syn, l_test, l_test - real_test);
      std::fflush(stdout);
    }
    auto spread = [](const std::vector<double>& v) {
      return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
    };
    std::printf("mean L_syn %.3f (d %+.3f) L_test %.3f (d %+.3f); spread %.3f / %.3f\n", mean(ls), mean(ls) - real_syn,
                mean(lt), mean(lt) - real_test, spread(ls), spread(lt));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_mix: %s\n", e.what());
    return 1;
  }
  return 0;
}
