// efbench: EchoFlow's benchmark tool. One command measures CPU (or GPU) throughput and model
// quality and writes every figure, with its workload, device, thread count, run count and
// median / min / max, to DIR/results.json, plus markdown tables to DIR/results.md (printed last).
//
//   efbench --suite throughput|quality|all [--device cpu|cuda] [--quick] [--out DIR]
//           [--threads N] [--repeats N] [--seconds S] [--datasets DIR] [--flows F...]
//           [--only W...]   (quality workloads: grid gridr ring spiral bn penguins adult; default all)
//
// throughput: train (forward + backward + Adam), score and sample rows/s of MAF, RealNVP and the
//   neural spline flows nsf-ar and nsf-coupling (K = 8 bins, tail bound 3; --flows picks) over
//   D in {2, 8, 16, 64}, hidden {64, 128, 256} x 2, 5 layers, batch {256, 1024, 4096}; a warm-up,
//   then the median of `repeats` timed runs of at least `seconds` each (bench/bench_throughput.cpp's
//   method). FLOPs per row (the model's forward GEMM count; training = 3x: forward plus the dX and
//   dW products of backward), the GFLOP/s they imply, and the sgemm GFLOP/s at the matching shape
//   (batch x hidden x hidden, through the engine's own ef::gemm_par on the same threads) measured
//   in the same run.
// quality: SDGym's Gaussian mixtures grid / gridr / ring (every --flows flow, and the default flow on a config of
//   only data.path) and the spiral demo (generated here with a
//   fixed seed; exact densities), and the Bayesian networks asia / alarm / child / insurance
//   (../shared/datasets/bn/*.bif, parsed and sampled here): held-out log-likelihood of the model
//   next to the true one, L_syn, L_test (SDGym's definitions), with the published anchors; adult
//   ML efficacy, column-shape and column-pair scores through bench/tabular/adult_efficacy.py when
//   bench/.venv/bin/python exists.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "backend.hpp"
#include "bif.hpp"
#include "rows2d.hpp"
#include "bn_rows.hpp"
#include "blas.hpp"
#include "config.hpp"
#include "fit_score_2d.hpp"
#include <set>
#include "flow_math.hpp"
#include "gmm.hpp"
#include "measures.hpp"
#include "omp_env.hpp"
#include "out_of_range.hpp"
#include "synth.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using efbench::bn_codes;
using efbench::bn_table;
using efbench::floored_mean;

using clock_type = std::chrono::steady_clock;
double now_s() { return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count(); }

struct Stat {
  double median = 0, min = 0, max = 0;
  int runs = 0;
};
Stat stat_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stat s;
  s.runs = int(v.size());
  s.min = v.front();
  s.max = v.back();
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}
Stat single(double x) { return Stat{x, x, x, 1}; }
Stat scaled(const Stat& s, double f) { return Stat{s.median * f, s.min * f, s.max * f, s.runs}; }

// Global run settings, recorded with every figure.
struct Settings {
  std::string device = "cpu";
  int threads = 0;
  int repeats = 5;
  double seconds = 0.25;  // minimum length of one timed run
  double budget = 8.0;    // seconds one measurement should take at most (fewer runs, never < 3)
  bool quick = false;
  // Flows of the throughput suite and of the 2-D quality workloads (the spiral: nsf-coupling, the demo's flow, only).
  std::vector<ef::FlowKind> flows{ef::FlowKind::MAF, ef::FlowKind::RealNVP, ef::FlowKind::NSFAR,
                                  ef::FlowKind::NSFCoupling};
  std::vector<std::string> only;  // quality workloads to run (empty: all)
  bool wanted(const std::string& w) const { return only.empty() || std::find(only.begin(), only.end(), w) != only.end(); }
};

// Autoregressive flows (MAF, nsf-ar) reverse the order between layers; coupling flows alternate
// their masks instead (what bench_throughput, the peers and the published setups do).
ef::Permutation permutation_for(ef::FlowKind k) { return ef::default_permutation(k); }

struct Report {
  Settings set;
  json figures = json::array();
  json skipped = json::array();
  std::string md_throughput, md_quality;

  void add(const std::string& suite, const std::string& workload, const json& params,
           const std::string& metric, const std::string& unit, const Stat& s) {
    figures.push_back({{"suite", suite}, {"workload", workload}, {"params", params}, {"metric", metric},
                       {"unit", unit}, {"device", set.device}, {"threads", set.threads}, {"runs", s.runs},
                       {"median", s.median}, {"min", s.min}, {"max", s.max}});
  }
  void skip(const std::string& suite, const std::string& what, const std::string& reason) {
    skipped.push_back({{"suite", suite}, {"workload", what}, {"reason", reason}});
    std::fprintf(stderr, "efbench: skipped %s: %s\n", what.c_str(), reason.c_str());
  }
};

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string f3(double v) { return std::isfinite(v) ? fmt("%.3f", v) : "n/a"; }
// Rates: 3 significant digits, thousands as k / M.
std::string rate(double v) {
  if (v >= 1e6) return fmt("%.2fM", v / 1e6);
  if (v >= 1e3) return fmt("%.1fk", v / 1e3);
  return fmt("%.0f", v);
}

// ---------------------------------------------------------------------------------------------
// Throughput

// Rates (units per second) of `step`: warm-up (at least one step, up to 3 or `seconds`), then
// runs of at least `seconds` each; fewer runs (never fewer than 3, or `repeats` if smaller) when
// one step is so slow that `repeats` runs would exceed the budget.
template <class F>
Stat measure(F&& step, double units_per_step, const Settings& s) {
  double t0 = now_s();
  step();
  const double first = now_s() - t0;
  for (int i = 1; i < 3 && now_s() - t0 < s.seconds; ++i) step();
  int runs = s.repeats;
  const double per_run = std::max(first, s.seconds);
  if (per_run * runs > s.budget) runs = std::max(std::min(3, s.repeats), int(s.budget / per_run));
  std::vector<double> r;
  for (int k = 0; k < runs; ++k) {
    long n = 0;
    const double a = now_s();
    double dt = 0;
    do {
      step();
      ++n;
      dt = now_s() - a;
    } while (dt < s.seconds);
    r.push_back(n * units_per_step / dt);
  }
  return stat_of(r);
}

Stat sgemm_gflops(int m, int n, int k, const Settings& s) {
  std::vector<float> a(size_t(m) * k, 0.5f), b(size_t(k) * n, 0.25f), c(size_t(m) * n);
  return measure([&] { ef::gemm_par(false, true, m, n, k, 1.f, a.data(), k, b.data(), k, 0.f, c.data(), n); },
                 2.0 * m * n * k / 1e9, s);
}

void run_throughput(Report& rep) {
  const Settings& s = rep.set;
  std::vector<int> dims{2, 8, 16, 64}, hiddens{64, 128, 256}, batches{256, 1024, 4096};
  if (s.quick) {
    dims = {2, 8};
    hiddens = {64};
    batches = {256};
  }
  const int layers = 5;
  std::ostringstream md;
  md << "## Throughput (" << s.device << ", " << s.threads << " threads, 5 layers, hidden H x 2; "
     << "median of up to " << s.repeats << " runs of >= " << s.seconds << " s after a warm-up)\n\n"
     << "| flow | D | H | batch | train rows/s | score rows/s | sample rows/s | fwd FLOP/row | "
        "train GFLOP/s | score GFLOP/s | sgemm GFLOP/s (batch x H x H) | train % of sgemm |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (ef::FlowKind kind : s.flows) {
    for (int D : dims) {
      for (int H : hiddens) {
        for (int batch : batches) {
          // Measured next to the model (not once per shape): on shared cores the rate drifts with
          // the load, and the ratio is only meaningful between figures taken together.
          const Stat sg = sgemm_gflops(batch, H, H, s);
          ef::TabularSpec spec;
          spec.parts = {ef::PartSpec{{}, D}};
          spec.flow.kind = kind;
          spec.flow.layers = layers;
          spec.flow.hidden = {H, H};
          spec.flow.permutation = permutation_for(kind);
          auto be = ef::make_backend(s.device, spec);
          be->init_params();
          std::vector<float> u(size_t(batch) * D), lp(batch), out(size_t(batch) * D);
          std::vector<int> codes(1), codes_out(size_t(batch) + 1);
          for (size_t i = 0; i < u.size(); ++i) u[i] = float(ef::math::rand_normal(1, 2, i));
          ef::AdamConfig adam;
          adam.lr = 1e-5;  // tiny: the benchmark must not drift into a different regime
          const Stat train = measure(
              [&] {
                be->forward(codes.data(), u.data(), batch);
                be->backward();
                be->adam_step(adam);
              },
              batch, s);
          const Stat score = measure([&] { be->score(codes.data(), u.data(), batch, lp.data()); }, batch, s);
          uint64_t off = 0;
          const Stat sample = measure(
              [&] {
                be->sample(batch, 7, off, nullptr, codes_out.data(), out.data(), nullptr);
                off += uint64_t(batch);
              },
              batch, s);
          const double fwd = be->flops_per_row(), trainf = 3.0 * fwd;
          const Stat tg = scaled(train, trainf / 1e9), sgf = scaled(score, fwd / 1e9);
          const std::string fk = ef::to_string(kind);
          const std::string wl = fk + " D=" + std::to_string(D) + " hidden=" + std::to_string(H) + "x2 layers=" +
                                 std::to_string(layers) + " batch=" + std::to_string(batch);
          const json params = {{"flow", fk}, {"D", D}, {"hidden", {H, H}}, {"layers", layers}, {"batch", batch}};
          rep.add("throughput", wl, params, "train_rows_per_s", "rows/s", train);
          rep.add("throughput", wl, params, "score_rows_per_s", "rows/s", score);
          rep.add("throughput", wl, params, "sample_rows_per_s", "rows/s", sample);
          rep.add("throughput", wl, params, "fwd_flops_per_row", "FLOP/row", single(fwd));
          rep.add("throughput", wl, params, "train_flops_per_row", "FLOP/row", single(trainf));
          rep.add("throughput", wl, params, "train_gflops", "GFLOP/s", tg);
          rep.add("throughput", wl, params, "score_gflops", "GFLOP/s", sgf);
          json sp = params;
          sp["sgemm_shape"] = {batch, H, H};
          rep.add("throughput", wl, sp, "sgemm_gflops", "GFLOP/s", sg);
          md << "| " << fk << " | " << D << " | " << H << " | " << batch << " | " << rate(train.median) << " | "
             << rate(score.median) << " | " << rate(sample.median) << " | " << rate(fwd) << " | "
             << fmt("%.2f", tg.median) << " | " << fmt("%.2f", sgf.median) << " | " << fmt("%.1f", sg.median)
             << " | " << fmt("%.0f%%", 100 * tg.median / sg.median) << " |\n";
          std::fprintf(stderr, "efbench: %s: train %s, score %s, sample %s rows/s; %.2f GFLOP/s (sgemm %.1f)\n",
                       wl.c_str(), rate(train.median).c_str(), rate(score.median).c_str(),
                       rate(sample.median).c_str(), tg.median, sg.median);
        }
      }
    }
  }
  md << "\nFLOP/row: the forward pass's multiply-adds x 2 (be->flops_per_row()); training = 3x forward "
        "(forward + dX + dW). Score GFLOP/s uses the forward count. Sampling FLOPs are not converted "
        "(MAF sampling inverts one dimension per pass; the D passes evaluate one network's units in all). sgemm: ef::gemm_par "
        "(OpenBLAS single-threaded inside, rows split over OpenMP threads, as the engine calls it) "
        "at (batch x H) * (H x H)^T, measured just before each row's model figures. The model's own GEMMs "
        "have other shapes too (the input and output layers, dW with k = batch), so the ratio can pass "
        "100%; on shared cores both rates move with the load. min / max of every figure: results.json.\n";
  rep.md_throughput = md.str();
}

// ---------------------------------------------------------------------------------------------
// Quality

using efbench::mean;
using efbench::rows2d;
using efbench::table2d;

struct QRow {
  std::string dataset, model, config;
  double train_s = std::nan(""), heldout_model = std::nan(""), heldout_true = std::nan("");
  double l_syn = std::nan(""), l_test = std::nan("");
  int epochs = 0;
  std::string anchors;
};

void add_qrow(Report& rep, const QRow& r, const json& extra) {
  const std::string wl = r.dataset + " / " + r.model;
  json params = extra;
  params["dataset"] = r.dataset;
  params["model"] = r.model;
  if (!r.config.empty()) params["config"] = r.config;
  if (!r.anchors.empty()) params["anchors"] = r.anchors;
  auto put = [&](const char* m, const char* unit, double v) {
    if (std::isfinite(v)) rep.add("quality", wl, params, m, unit, single(v));
  };
  put("heldout_ll_model", "nats/row", r.heldout_model);
  put("heldout_ll_true", "nats/row", r.heldout_true);
  put("l_syn", "nats/row", r.l_syn);
  put("l_test", "nats/row", r.l_test);
  put("train_seconds", "s", r.train_s);
  if (r.epochs > 0) put("epochs_run", "epochs", r.epochs);
}

std::string qrow_md(const QRow& r) {
  std::ostringstream o;
  o << "| " << r.dataset << " | " << r.model << " | " << (std::isfinite(r.train_s) ? fmt("%.1f", r.train_s) : "")
    << " | " << (r.epochs > 0 ? std::to_string(r.epochs) : "") << " | " << f3(r.heldout_model) << " | "
    << f3(r.heldout_true) << " | " << f3(r.l_syn) << " | " << f3(r.l_test) << " | " << r.anchors << " |\n";
  return o.str();
}

const char* kQHeader =
    "| dataset | model | train s | epochs | held-out LL (model) | held-out LL (true) | L_syn | L_test | "
    "anchors L_syn / L_test |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n";

struct FlowCfg {
  int layers = 8;
  std::vector<int> hidden{128, 128};
  int epochs = 200, batch = 256, patience = 30;
  double lr = 1e-3, wd = 0;
};
std::string describe(const FlowCfg& c) {
  std::string h;
  for (size_t i = 0; i < c.hidden.size(); ++i) h += (i ? "," : "") + std::to_string(c.hidden[i]);
  std::string s = std::to_string(c.layers) + " layers [" + h + "], <=" + std::to_string(c.epochs) + " ep, bs " +
                  std::to_string(c.batch) + ", lr " + fmt("%g", c.lr) + ", patience " + std::to_string(c.patience);
  if (c.wd > 0) s += ", wd " + fmt("%g", c.wd);
  return s;
}

echoflow::FitOptions fit_options(const Settings& s, ef::FlowKind kind, const FlowCfg& c) {
  echoflow::FitOptions o;
  o.flow.kind = kind;
  o.flow.layers = c.layers;
  o.flow.hidden = c.hidden;
  o.flow.permutation = permutation_for(kind);
  o.flow.seed = 0;
  o.train.epochs = c.epochs;
  o.train.batch_size = c.batch;
  o.train.adam.lr = c.lr;
  o.train.adam.weight_decay = c.wd;
  o.train.validation_fraction = 0.1;
  o.train.patience = c.patience;
  o.train.seed = 0;
  o.device = s.device;
  o.threads = s.threads;
  return o;
}

void run_2d_model(Report& rep, const efbench::Dataset2D& ds, const std::string& model, const std::string& config,
                  const echoflow::FitOptions& opt, int gmm_k, const std::string& anchors, std::ostringstream& md);

// One 2-D dataset: the real-rows reference row, then one row per flow.
void run_2d(Report& rep, const efbench::Dataset2D& ds, const std::vector<ef::FlowKind>& flows, const FlowCfg& cfg,
            int gmm_k, const std::string& anchors, std::ostringstream& md) {
  const Settings& s = rep.set;
  const double true_test = mean(ds.logpdf(ds, ds.test));
  const json extra = {{"rows_train", ds.train.size() / 2}, {"rows_test", ds.test.size() / 2},
                      {"rows_synthetic", ds.test.size() / 2}, {"gmm_components", gmm_k}};
  {
    QRow r;
    r.dataset = ds.name;
    r.model = "real (train rows)";
    r.heldout_true = true_test;
    r.l_syn = mean(ds.logpdf(ds, ds.train));
    r.l_test = efbench::DiagGmm::fit(ds.train, 2, gmm_k, 0).mean_score(ds.test);
    r.anchors = anchors;
    add_qrow(rep, r, extra);
    md << qrow_md(r);
  }
  for (ef::FlowKind kind : flows)
    run_2d_model(rep, ds, ef::to_string(kind), describe(cfg), fit_options(s, kind, cfg), gmm_k, anchors, md);
}

// One model on a 2-D dataset (fit_score_2d.hpp: fit, score the test rows, draw as many rows,
// L_syn and L_test), one row.
void run_2d_model(Report& rep, const efbench::Dataset2D& ds, const std::string& model, const std::string& config,
                  const echoflow::FitOptions& opt, int gmm_k, const std::string& anchors, std::ostringstream& md) {
  const size_t n_syn = ds.test.size() / 2;
  const double true_test = mean(ds.logpdf(ds, ds.test));
  const json extra = {{"rows_train", ds.train.size() / 2}, {"rows_test", ds.test.size() / 2},
                      {"rows_synthetic", n_syn}, {"gmm_components", gmm_k}};
  {
    QRow r;
    r.dataset = ds.name;
    r.model = model;
    r.config = config;
    r.anchors = anchors;
    const efbench::FitScore2D f = efbench::fit_score_2d(ds, opt, gmm_k);
    r.train_s = f.fit_wall_s;
    r.epochs = f.model.training().epochs_run;
    r.heldout_model = f.heldout_model;
    r.heldout_true = true_test;
    r.l_syn = f.l_syn;
    r.l_test = f.l_test;
    add_qrow(rep, r, extra);
    md << qrow_md(r);
    std::fprintf(stderr, "efbench: %s %s: %d epochs, %.1f s; held-out %.3f (true %.3f), L_syn %.3f, L_test %.3f\n",
                 ds.name.c_str(), r.model.c_str(), r.epochs, r.train_s, r.heldout_model, true_test, r.l_syn,
                 r.l_test);
  }
}

void run_bn(Report& rep, const std::string& bn_dir, const std::vector<std::string>& nets, std::ostringstream& md) {
  const Settings& s = rep.set;
  // Anchors (SDGym, real-data rows): L_syn / L_test.
  const std::map<std::string, std::string> anchors = {{"asia", "real -2.23 / -2.24"},
                                                      {"alarm", "real -10.3 / -10.3"},
                                                      {"child", "real -12.0 / -12.0"},
                                                      {"insurance", "real -12.8 / -12.9"}};
  const std::vector<std::string> order = {"asia", "alarm", "child", "insurance"};
  const size_t N = s.quick ? 2000 : 10000;
  for (const std::string& name : nets) {
    const std::string path = bn_dir + "/" + name + ".bif";
    if (!fs::exists(path)) {
      rep.skip("quality", name, "BIF file not found: " + path + " (pass --datasets DIR)");
      continue;
    }
    const int i = int(std::find(order.begin(), order.end(), name) - order.begin());
    const efbench::BayesNet net = efbench::parse_bif(path);
    const std::vector<int> train = net.sample(N, 1000 + i), test = net.sample(N, 2000 + i);
    const std::vector<double> true_test_ll = net.loglik(test);
    const double true_test = mean(true_test_ll);
    const json extra = {{"rows_train", N}, {"rows_test", N}, {"rows_synthetic", N}, {"variables", net.vars.size()},
                        {"floor", 1e-8}, {"pseudocount", 0}};
    auto metrics = [&](const std::vector<int>& syn, QRow& r) {
      r.l_syn = floored_mean(net.loglik(syn));
      const auto cpts = net.fit(syn, 0.0);
      r.l_test = floored_mean(net.loglik(test, &cpts));
    };
    const std::string anc = anchors.count(name) ? anchors.at(name) : "";
    {
      QRow r;
      r.dataset = name;
      r.model = "real (train rows)";
      r.heldout_true = true_test;
      r.anchors = anc;
      metrics(train, r);
      add_qrow(rep, r, extra);
      md << qrow_md(r);
    }
    // bench/tabular/bn_quality.py's config: categorical MADE hidden [512] (asia [64, 64]),
    // <= 60 epochs, batch 128, lr 3e-3, weight decay 0.05, patience 8; categorical_model auto.
    FlowCfg c;
    c.layers = 1;
    c.hidden = name == "asia" ? std::vector<int>{64, 64} : std::vector<int>{512};
    c.epochs = s.quick ? 3 : 60;
    c.batch = 128;
    c.lr = 3e-3;
    c.wd = 0.05;
    c.patience = 8;
    QRow r;
    r.dataset = name;
    std::string h;
    for (size_t k = 0; k < c.hidden.size(); ++k) h += (k ? "," : "") + std::to_string(c.hidden[k]);
    r.config = "hidden [" + h + "], <=" + std::to_string(c.epochs) + " ep, bs 128, lr 3e-3, wd 0.05, patience 8";
    r.anchors = anc;
    const double t0 = now_s();
    echoflow::Model m = echoflow::Model::fit(bn_table(net, train), fit_options(s, ef::FlowKind::MAF, c));
    r.train_s = now_s() - t0;
    // model.categorical_model is "auto" here: the label says which model ran (the MADE, or the
    // count tables it kept instead; host/categorical_choice.hpp), results.json also why.
    const std::string& chosen = m.training().categorical_model;
    r.model = chosen.rfind("table", 0) == 0 ? "echoflow (tuned, count tables)" : "echoflow (tuned, cat-MADE)";
    r.epochs = m.training().epochs_run;
    r.heldout_model = mean(m.score(bn_table(net, test)));
    r.heldout_true = true_test;
    metrics(bn_codes(net, m.sample(N, {}, 7)), r);
    json ex = extra;
    ex["categorical_model"] = chosen;
    add_qrow(rep, r, ex);
    md << qrow_md(r);
    std::fprintf(stderr, "efbench: %s %s: %d epochs, %.1f s; held-out %.3f (true %.3f), L_syn %.3f, L_test %.3f\n",
                 name.c_str(), r.model.c_str(), r.epochs, r.train_s, r.heldout_model, true_test, r.l_syn, r.l_test);
  }
}

std::string shell_quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cur;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      size_t a = cur.find_first_not_of(" *"), b = cur.find_last_not_of(" *");
      cells.push_back(a == std::string::npos ? "" : cur.substr(a, b - a + 1));
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  return cells;
}

void run_adult(Report& rep, const fs::path& repo, const fs::path& out, const std::string& datasets,
               std::ostringstream& md) {
  const Settings& s = rep.set;
  const fs::path py = repo / "bench/.venv/bin/python", script = repo / "bench/tabular/adult_efficacy.py";
  std::error_code ec;
  const fs::path eftrain = fs::read_symlink("/proc/self/exe", ec).parent_path() / "eftrain";
  std::string reason;
  if (s.quick)
    reason = "not in --quick (the classifiers alone take about a minute)";
  else if (s.device != "cpu")
    reason = "adult_efficacy.py trains on the CPU only";
  else if (!fs::exists(py))
    reason = py.string() + " not found (run bash bench/tabular/setup_venv.sh for scikit-learn)";
  else if (!fs::exists(script))
    reason = script.string() + " not found";
  else if (!fs::exists(eftrain))
    reason = eftrain.string() + " not found (build the eftrain target next to efbench)";
  else if (!fs::exists(repo / "../shared/datasets/adult/adult.csv"))
    reason = "adult_efficacy.py reads <repo>/../shared/datasets/adult/adult.csv, which is missing";
  if (!reason.empty()) {
    rep.skip("quality", "adult", reason);
    md << "\nadult ML efficacy: skipped (" << reason << ").\n";
    return;
  }
  const fs::path dir = out / "adult";
  fs::create_directories(dir);
  const std::string cmd = "cd " + shell_quote(repo.string()) + " && " + shell_quote(py.string()) + " " +
                          shell_quote(script.string()) + " --eftrain " + shell_quote(eftrain.string()) +
                          " --out " + shell_quote(dir.string()) + " > " + shell_quote((dir / "log.txt").string()) +
                          " 2>&1";
  std::fprintf(stderr, "efbench: adult: %s\n", cmd.c_str());
  const double t0 = now_s();
  const int rc = std::system(cmd.c_str());
  const double dt = now_s() - t0;
  std::ifstream f(dir / "results.md");
  if (rc != 0 || !f) {
    reason = "adult_efficacy.py failed (exit " + std::to_string(rc) + "); see " + (dir / "log.txt").string();
    rep.skip("quality", "adult", reason);
    md << "\nadult ML efficacy: " << reason << ".\n";
    return;
  }
  md << "\n## adult ML efficacy (bench/tabular/adult_efficacy.py, " << fmt("%.0f", dt)
     << " s; classifiers trained on synthetic rows, F1 on adult_test.csv)\n\n"
     << "| model | F1 mean | F1 DT / Ada / LR / MLP | shape score | pair score | anchors |\n|---|---:|---|---:|---:|---|\n";
  std::string line;
  int found = 0;
  while (std::getline(f, line)) {
    if (line.rfind("| adult |", 0) != 0) continue;
    // dataset, model, F1 mean, F1 x4, shape score, pair score, shape parts, wall (adult_efficacy.row)
    const auto c = split_cells(line);
    if (c.size() < 8) continue;
    const std::string model = c[1].rfind("real", 0) == 0 ? "real (adult.csv)" : "echoflow (eftrain)";
    const json params = {{"dataset", "adult"}, {"model", model}, {"config", c[1]}, {"script", "bench/tabular/adult_efficacy.py"},
                         {"eftrain_threads", 2}};
    std::vector<double> f1;
    std::stringstream ss(c[3]);
    std::string tok;
    while (std::getline(ss, tok, '/')) f1.push_back(std::atof(tok.c_str()));
    const double f1m = std::atof(c[2].c_str()), shape = std::atof(c[4].c_str()), pair = std::atof(c[5].c_str());
    rep.add("quality", "adult / " + model, params, "f1_mean", "F1", single(f1m));
    const char* names[] = {"f1_decision_tree", "f1_adaboost", "f1_logistic_regression", "f1_mlp"};
    for (size_t k = 0; k < f1.size() && k < 4; ++k) rep.add("quality", "adult / " + model, params, names[k], "F1", single(f1[k]));
    rep.add("quality", "adult / " + model, params, "shape_score", "score", single(shape));
    rep.add("quality", "adult / " + model, params, "pair_score", "score", single(pair));
    md << "| " << model << " | " << fmt("%.3f", f1m) << " | " << c[3] << " | " << fmt("%.3f", shape) << " | "
       << fmt("%.3f", pair) << " | real 0.669, TVAE 0.626, CTGAN 0.601 (F1) |\n";
    ++found;
  }
  if (found == 0) rep.skip("quality", "adult", "no result rows in " + (dir / "results.md").string());
  if (fs::path(datasets).lexically_normal() != (repo / "../shared/datasets").lexically_normal())
    md << "\n(adult_efficacy.py reads <repo>/../shared/datasets, not --datasets.)\n";
}

// Defaults as a user meets them: a config of only data.path (train.threads and the seed set).
echoflow::FitOptions default_fit_options(const Settings& s, const std::string& data, uint64_t seed) {
  const ef::Config cfg = ef::parse_config("{\"data\": {\"path\": " + json(data).dump() + "}}", "defaults",
                                          "", {"train.threads=" + std::to_string(s.threads),
                                               "train.seed=" + std::to_string(seed), "device=" + s.device});
  return ef::fit_options(cfg);
}

// The Bayesian networks on defaults (default_fit_options), seeds 0..2 (quick: asia, seed 0):
// L_syn / L_test as in run_bn, with their spread over the seeds.
void run_bn_defaults(Report& rep, const std::string& bn_dir, const std::vector<std::string>& nets,
                     std::ostringstream& md) {
  const Settings& s = rep.set;
  const std::vector<std::string> order = {"asia", "alarm", "child", "insurance"};
  const size_t N = s.quick ? 2000 : 10000;
  const int seeds = s.quick ? 1 : 3;
  // The bnlearn files, then (full runs) random networks of 15 and 30 variables
  // (efbench::random_network; rows from seeds 1000+i / 2000+i with i = 100 + the net's seed).
  std::vector<std::tuple<std::string, efbench::BayesNet, int>> all;
  for (const std::string& name : nets) {
    const std::string path = bn_dir + "/" + name + ".bif";
    if (!fs::exists(path)) continue;  // run_bn reported the skip
    all.emplace_back(name, efbench::parse_bif(path), int(std::find(order.begin(), order.end(), name) - order.begin()));
  }
  if (!s.quick)
    for (auto [V, net_seed] : {std::pair<int, int>{15, 2}, {30, 1}})
      all.emplace_back("random" + std::to_string(V) + " (net seed " + std::to_string(net_seed) + ")",
                       efbench::random_network(V, uint64_t(net_seed)), 100 + net_seed);
  for (const auto& [name, net, i] : all) {
    const std::vector<int> train = net.sample(N, uint64_t(1000 + i)), test = net.sample(N, uint64_t(2000 + i));
    std::vector<double> syn_ll, test_ll;
    for (int seed = 0; seed < seeds; ++seed) {
      QRow r;
      r.dataset = name;
      r.model = "echoflow (defaults, seed " + std::to_string(seed) + ")";
      r.config = "data.path only";
      const double t0 = now_s();
      echoflow::Model m = echoflow::Model::fit(bn_table(net, train), default_fit_options(s, "", uint64_t(seed)));
      r.train_s = now_s() - t0;
      r.epochs = m.training().epochs_run;
      r.heldout_model = mean(m.score(bn_table(net, test)));
      r.heldout_true = mean(net.loglik(test));
      const std::vector<int> syn = bn_codes(net, m.sample(N, {}, 7));
      r.l_syn = floored_mean(net.loglik(syn));
      const auto cpts = net.fit(syn, 0.0);
      r.l_test = floored_mean(net.loglik(test, &cpts));
      syn_ll.push_back(r.l_syn);
      test_ll.push_back(r.l_test);
      add_qrow(rep, r, {{"rows_train", N}, {"rows_test", N}, {"rows_synthetic", N}, {"seed", seed}});
      md << qrow_md(r);
      std::fprintf(stderr, "efbench: %s defaults seed %d: %d epochs, %.1f s; L_syn %.3f, L_test %.3f\n",
                   name.c_str(), seed, r.epochs, r.train_s, r.l_syn, r.l_test);
    }
    auto spread = [](const std::vector<double>& v) {
      return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
    };
    const json params = {{"dataset", name}, {"model", "echoflow (defaults)"}, {"seeds", seeds}};
    rep.add("quality", name + " / echoflow (defaults)", params, "l_syn_spread", "nats/row", single(spread(syn_ll)));
    rep.add("quality", name + " / echoflow (defaults)", params, "l_test_spread", "nats/row", single(spread(test_ll)));
  }
}

// Penguins (tests/data/penguins.csv, 344 rows) on defaults: the share of synthetic rows whose
// (species, island, sex) combination never occurs in the data, seeds 0..4 (quick: seed 0), and
// the same share for a random half of the real rows against the other half (the floor); with
// issue 16's support check on the numeric columns (out_of_range.hpp).
void run_penguins(Report& rep, const fs::path& repo, std::ostringstream& md) {
  const Settings& s = rep.set;
  const std::string path = (repo / "tests" / "data" / "penguins.csv").string();
  if (!fs::exists(path)) {
    rep.skip("quality", "penguins", "not found: " + path);
    return;
  }
  const echoflow::Table real = echoflow::read_table(path, echoflow::ReadOptions());
  using Combo = std::tuple<std::string, std::string, std::string>;
  auto combo = [](const echoflow::Table& t, size_t r) {
    auto label = [&](const char* c) {
      const echoflow::Column& col = t.columns[size_t(t.find(c))];
      return col.is_missing(r) ? std::string("NA") : col.labels[r];
    };
    return Combo{label("species"), label("island"), label("sex")};
  };
  std::set<Combo> seen;
  for (size_t r = 0; r < real.rows(); ++r) seen.insert(combo(real, r));
  // The floor: 200 random halves of the real rows, each against the other half.
  double half = 0;
  const size_t n_real = real.rows();
  for (uint64_t k = 0; k < 200; ++k) {
    std::vector<size_t> idx(n_real);
    for (size_t r = 0; r < n_real; ++r) idx[r] = r;
    for (size_t r = n_real - 1; r > 0; --r) std::swap(idx[r], idx[ef::math::rand_u64(k, 5, r) % (r + 1)]);
    std::set<Combo> a;
    for (size_t r = 0; r < n_real / 2; ++r) a.insert(combo(real, idx[r]));
    size_t miss = 0;
    for (size_t r = n_real / 2; r < n_real; ++r) miss += !a.count(combo(real, idx[r]));
    half += double(miss) / double(n_real - n_real / 2) / 200.0;
  }
  md << "\n## Quality: penguins on defaults (tests/data/penguins.csv, 344 rows; a config of only data.path)\n\n"
     << "| model | seed | epochs | batch | train s | impossible (species, island, sex) share "
     << "| out-of-range share (worst excess) |\n"
     << "|---|---:|---:|---:|---:|---:|---:|\n";
  md << "| real: a random half vs the other half (mean of 200 splits) | | | | | " << fmt("%.4f", half) << " | |\n";
  rep.add("quality", "penguins / real (half vs half)", {{"dataset", "penguins"}, {"splits", 200}}, "impossible_share",
          "share", single(half));
  const int seeds = s.quick ? 1 : 5;
  const size_t n = 5000;
  for (int seed = 0; seed < seeds; ++seed) {
    const double t0 = now_s();
    echoflow::Model m = echoflow::Model::fit(real, default_fit_options(s, path, uint64_t(seed)));
    const double ts = now_s() - t0;
    const echoflow::Table syn = m.sample(n, {}, 11);
    size_t bad = 0;
    for (size_t r = 0; r < n; ++r) bad += !seen.count(combo(syn, r));
    const double share = double(bad) / double(n);
    // Issue 16's support check (out_of_range.hpp; bench/tabular/support.py gives the peers' figure).
    const efbench::OutOfRange oor = efbench::out_of_range(real, syn);
    const json params = {{"dataset", "penguins"}, {"seed", seed}, {"rows_synthetic", n}};
    rep.add("quality", "penguins / echoflow (defaults)", params, "impossible_share", "share", single(share));
    rep.add("quality", "penguins / echoflow (defaults)", params, "out_of_range_share", "share", single(oor.share));
    rep.add("quality", "penguins / echoflow (defaults)", params, "out_of_range_worst_excess", "range", single(oor.worst));
    md << "| echoflow (defaults) | " << seed << " | " << m.training().epochs_run << " | " << m.training().batch_size
       << " | " << fmt("%.1f", ts) << " | " << fmt("%.4f", share) << " | " << fmt("%.4f", oor.share) << " ("
       << fmt("%.3f", oor.worst) << (oor.column.empty() ? "" : " " + oor.column) << ") |\n";
    std::fprintf(stderr,
                 "efbench: penguins defaults seed %d: %d epochs, %.1f s; impossible share %.4f; out-of-range share "
                 "%.4f over %zu numeric columns (worst excess %.3f of the range)\n",
                 seed, m.training().epochs_run, ts, share, oor.share, oor.columns, oor.worst);
  }
}

void run_quality(Report& rep, const fs::path& repo, const fs::path& out, const std::string& datasets) {
  const Settings& s = rep.set;
  std::ostringstream md;
  const size_t rows = s.quick ? 2000 : 10000;
  FlowCfg mix;  // bench/quality/sdgym_gmm.py FULL
  if (s.quick) {
    mix.layers = 4;
    mix.hidden = {32, 32};
    mix.epochs = 3;
    mix.patience = 10;
  }
  md << "## Quality: SDGym Gaussian mixtures and the spiral (" << rows << " train / " << rows << " test / " << rows
     << " synthetic rows; " << s.device << ", " << s.threads << " threads)\n\n"
     << "Flows: " << describe(mix) << ", default encoders, seed 0.\n\n"
     << kQHeader;
  const std::map<std::string, std::string> anchors = {
      {"grid", "real -3.06/-3.06; TVAE -2.86/-11.26; CTGAN -5.63/-3.69"},
      {"ring", "real -1.70/-1.70; TVAE -1.68/-1.79; CTGAN -3.43/-2.19"}};
  const std::vector<std::string> mixtures =
      s.quick ? std::vector<std::string>{"ring"} : std::vector<std::string>{"grid", "gridr", "ring"};
  for (const std::string& k : mixtures) {
    if (!s.wanted(k)) continue;
    const auto ds = efbench::make_mixture(k, rows, 0);
    const std::string anc = anchors.count(k) ? anchors.at(k) : "none published";
    run_2d(rep, ds, s.flows, mix, k == "ring" ? 10 : 30, anc, md);
    // The default flow as a user meets it: a config of only data.path.
    echoflow::FitOptions def = default_fit_options(s, "", 0);
    if (s.quick) def.train.epochs = 3;
    run_2d_model(rep, ds, "echoflow (defaults: " + ef::flow_name(def.flow) + ")",
                 s.quick ? "data.path only, 3 epochs (quick)" : "data.path only", def, k == "ring" ? 10 : 30, anc,
                 md);
  }
  FlowCfg spiral;  // examples/spiral.json, the demo's config
  spiral.layers = 10;
  spiral.hidden = {64, 64};
  spiral.epochs = 300;
  spiral.batch = 128;
  spiral.patience = 30;
  if (s.quick) {
    rep.skip("quality", "spiral", "not in --quick");
  } else if (s.wanted("spiral")) {
    run_2d(rep, efbench::make_spiral(rows, 0), {ef::FlowKind::NSFCoupling}, spiral, 30, "none published", md);
  }
  md << "\nHeld-out LL: mean log-density of the test rows, model (`score`) and true (exact; spiral by "
        "quadrature). L_syn: mean true log-density of the synthetic rows (the oracle of the CTGAN paper). "
        "L_test: a diagonal-covariance GMM (EM, k-means++ init, seed 0; 30 components grid/gridr/spiral, 10 "
        "ring) fitted to the synthetic rows, mean log-likelihood of the test rows. The defaults rows: a config "
        "of only data.path (the default flow, size, encoders and training length), seed 0. The real row uses the "
        "train rows as the synthetic ones. Mixtures: std sqrt(0.05), equal weights, seed 0 (gridr's "
        "offsets are efbench's draws, not SDGym's). Spiral: examples/spiral.json's config ("
     << describe(spiral) << "), nsf-coupling (the demo's flow) only.\n";

  const std::vector<std::string> nets =
      s.quick ? std::vector<std::string>{"asia"} : std::vector<std::string>{"asia", "alarm", "child", "insurance"};
  const size_t N = s.quick ? 2000 : 10000;
  md << "\n## Quality: Bayesian networks (" << N << " train / " << N << " test / " << N
     << " synthetic rows sampled from " << datasets << "/bn/*.bif)\n\n"
     << kQHeader;
  if (s.wanted("bn")) {
    run_bn(rep, datasets + "/bn", nets, md);
    run_bn_defaults(rep, datasets + "/bn", nets, md);
  }
  md << "\nSDGym's definitions: L_syn = mean log(P_true(row) + 1e-8) over synthetic rows; L_test = the "
        "network's CPTs refit on the synthetic rows (MLE, pseudocount 0, unseen parent configurations "
        "uniform), mean log(P_fit + 1e-8) over test rows. Held-out LL: the model's exact categorical mass "
        "and the true network's, on the test rows (no floor). Seeds: train 1000+i, test 2000+i, sample 7. "
        "Config: bench/tabular/bn_quality.py's (model.categorical_model auto: the tuned row names the "
        "categorical model it kept, the MADE or count tables; results.json's params say why); the "
        "defaults rows: a config of only data.path, seeds 0-2 (quick: seed 0), spread = max - min over the seeds. Random networks (full runs only): "
        "efbench::random_network(V, net seed), rows from seeds 1100+net seed / 2100+net seed.\n";
  if (s.wanted("penguins")) run_penguins(rep, repo, md);
  if (s.wanted("adult")) run_adult(rep, repo, out, datasets, md);
  if (s.quick) md << "\nQUICK MODE: tiny data and few epochs; the figures are not results.\n";
  rep.md_quality = md.str();
}

// The repository: the first folder above the executable holding tools/efbench.cpp, else the
// source folder this binary was configured from.
fs::path find_repo() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path d = p.parent_path(); !d.empty(); d = d.parent_path()) {
      if (fs::exists(d / "tools/efbench.cpp")) return d;
      if (d == d.parent_path()) break;
    }
  }
#ifdef EFBENCH_SOURCE_DIR
  return fs::path(EFBENCH_SOURCE_DIR);
#else
  return fs::current_path();
#endif
}

std::string today(const char* f) {
  char b[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(b, sizeof b, f, &tm);
  return b;
}

void write_atomic(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream o(tmp);
    o << text;
    if (!o) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, p);
}

}  // namespace

int main(int argc, char** argv) {
  ef::ensure_bounded_omp_wait(argc, argv);
  CLI::App app{"efbench: EchoFlow throughput and quality benchmarks"};
  std::string suite = "all", out_dir = "efbench_out", datasets;
  Settings s;
  s.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  double seconds = -1;
  app.add_option("--suite", suite, "throughput | quality | all")->check(CLI::IsMember({"throughput", "quality", "all"}));
  app.add_option("--device", s.device, "cpu | cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--quick", s.quick, "CI-sized subset (seconds, not results)");
  app.add_option("--out", out_dir, "output folder (results.json, results.md)");
  app.add_option("--threads", s.threads, "OpenMP threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_option("--repeats", s.repeats, "timed runs per throughput figure (default 5; 3 in --quick)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", seconds, "minimum seconds per timed run (default 0.25; 0.02 in --quick)");
  app.add_option("--datasets", datasets, "shared datasets folder (default <repo>/../shared/datasets)");
  std::vector<std::string> flow_names;
  app.add_option("--flows", flow_names,
                 "flows of the throughput suite and the 2-D quality rows (default: maf realnvp nsf-ar nsf-coupling)")
      ->check(CLI::IsMember(ef::flow_kind_names()));  // the registry (engine/flow_kinds.hpp)
  app.add_option("--only", s.only, "quality workloads to run (default: all)")
      ->check(CLI::IsMember({"grid", "gridr", "ring", "spiral", "bn", "penguins", "adult"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (s.quick) {
    if (app.count("--repeats") == 0) s.repeats = 3;
    s.seconds = 0.02;
    s.budget = 1.0;
  }
  if (seconds > 0) s.seconds = seconds;
  if (!flow_names.empty()) {
    s.flows.clear();
    for (const std::string& f : flow_names) s.flows.push_back(ef::flow_kind_from(f));
  }

  if (s.device == "cuda") {
    const ef::CudaInfo& ci = ef::cuda_info();
    if (!ci.compiled || ci.devices == 0) {
      std::fprintf(stderr, "efbench: --device cuda: no usable GPU: %s\n",
                   ci.reason.empty() ? "no CUDA device found" : ci.reason.c_str());
      return 1;
    }
  }
  const fs::path repo = find_repo();
  if (datasets.empty()) datasets = (repo / "../shared/datasets").lexically_normal().string();

  Report rep;
  rep.set = s;
  const double t0 = now_s();
  try {
    ef::set_num_threads(s.threads);
    fs::create_directories(out_dir);
    const fs::path out = fs::absolute(out_dir);
    if (suite == "throughput" || suite == "all") run_throughput(rep);
    if (suite == "quality" || suite == "all") run_quality(rep, repo, out, datasets);

    const double wall = now_s() - t0;
    json j = {{"tool", "efbench"},
              {"version", echoflow::version_string()},
              {"date", today("%Y-%m-%dT%H:%M:%S%z")},
              {"suite", suite},
              {"quick", s.quick},
              {"device", s.device},
              {"threads", s.threads},
              {"hardware_threads", std::thread::hardware_concurrency()},
              {"repeats", s.repeats},
              {"seconds_per_run", s.seconds},
              {"datasets", datasets},
              {"wall_seconds", wall},
              {"figures", rep.figures},
              {"skipped", rep.skipped}};
    write_atomic(out / "results.json", j.dump(1) + "\n");
    std::ostringstream md;
    md << "# efbench results\n\n" << echoflow::version_string() << "; " << today("%Y-%m-%d %H:%M") << "; `efbench --suite "
       << suite << " --device " << s.device << " --threads " << s.threads << " --repeats " << s.repeats
       << (s.quick ? " --quick" : "") << "`; " << std::thread::hardware_concurrency() << " hardware threads; "
       << fmt("%.0f", wall) << " s in all.\n\n";
    if (!rep.md_throughput.empty()) md << rep.md_throughput << "\n";
    if (!rep.md_quality.empty()) md << rep.md_quality << "\n";
    if (!rep.skipped.empty()) {
      md << "Skipped:";
      for (auto& k : rep.skipped)
        md << " " << k["workload"].get<std::string>() << " (" << k["reason"].get<std::string>() << ");";
      md << "\n";
    }
    write_atomic(out / "results.md", md.str());
    std::fflush(stderr);
    std::printf("%s", md.str().c_str());
    std::fprintf(stderr, "efbench: wrote %s and %s\n", (out / "results.json").c_str(), (out / "results.md").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "efbench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
