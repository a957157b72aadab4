// eftrain: train, sample, score and plot EchoFlow models from the command line.
//   eftrain train CONFIG.json [--set KEY=VALUE]...
//   eftrain sample MODEL --rows N --out OUT.csv [--seed S] [--given COLUMN=VALUE]...
//   eftrain score MODEL --data IN.csv --out OUT.csv
//   eftrain plot FILE.csv... --out PLOT.png|.svg|.pdf [--x COL --y COL] [--labels A,B]
//   eftrain visualize MODEL --out DIR [--rows N] [--seed S]   (2-D models, layer by layer)
//   eftrain info MODEL                 (the schema and training summary stored in a model)
//   eftrain config                     (a commented template with every config key)
//   eftrain --version
// Built on the echoflow C++ API plus the host floor's config parser, CSV reader and plot
// writer (host/config.hpp, host/csv.hpp, host/plot.hpp). Errors: message on stderr, exit
// status 1 (2 for usage).
#include <CLI/CLI.hpp>
#include <cmath>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <echoflow/echoflow.hpp>
#include <string>
#include <vector>

#include "config.hpp"
#include "config_keys.hpp"
#include "progress.hpp"
#include "omp_env.hpp"
#include "block_pipeline.hpp"
#include "communicator.hpp"
#include "ranks_io.hpp"
#include "shards.hpp"
#include "csv.hpp"
#include "plot.hpp"
#include "schema.hpp"
#include "score_stream.hpp"
#include "table_stream.hpp"

namespace {

// --- streaming sample and score: memory is one block, whatever --rows or the input size ---
constexpr size_t kBlockRows = 65536;

// Draws blocks and writes each while the next is drawn (one writer thread, one block ahead).
// The bytes do not depend on the block size (Model::sample_blocks, TableWriter).
void stream_sample(const echoflow::Model& m, size_t rows, const std::map<std::string, std::string>& given,
                   uint64_t seed, const std::string& out, ef::SampleInfo* info) {
  echoflow::TableWriter w(out);
  ef::BlockPipeline<echoflow::Table> pipe([&w](echoflow::Table& b) { w.write(b); });
  m.sample_blocks(rows, given, seed, kBlockRows, [&](echoflow::Table& b) { pipe.push(b); }, info);
  pipe.finish();
  w.commit();
}

// Categorical columns with more distinct labels than data.categorical_max_labels (ID-like) are
// dropped with a warning; one the config names (conditional, data.columns) is an error.
void warn_dropped(const echoflow::Table& table, const ef::Config& cfg, const std::vector<std::string>& dropped,
                  bool print = true) {
  for (const std::string& d : dropped) {
    const std::string name = d.substr(0, d.rfind(" ("));
    bool named = cfg.column_types.count(name) || cfg.column_options.count(name);
    for (auto& c : cfg.conditional) named |= c == name;
    if (named)  // the config asks for this column: refuse rather than drop
      throw ef::Error(cfg.data_path + ": column " + d + " has more labels than data.categorical_max_labels = " +
                          std::to_string(cfg.categorical_max_labels) + "; the config names it, so raise the limit or remove it",
                      __FILE__, __LINE__);
    if (print)
      std::fprintf(stderr, "eftrain: warning: %s: column %s dropped: more than data.categorical_max_labels = %d "
                 "(an ID-like column cannot be learned; raise the limit to keep it)\n",
                 cfg.data_path.c_str(), d.c_str(), cfg.categorical_max_labels);
  }
  if (table.columns.empty()) throw ef::Error(cfg.data_path + ": no columns left to model", __FILE__, __LINE__);
}
void drop_id_like_columns(echoflow::Table& table, const ef::Config& cfg) {
  warn_dropped(table, cfg, echoflow::drop_high_cardinality(table, size_t(cfg.categorical_max_labels)));
}

// Under mpirun (docs/SCALE.md) every rank reads the table and trains on its slice of each
// batch; rank 0 alone prints and writes the model. Each phase ends with the ranks agreeing on
// success (run_agreed), so an error on one rank ends them all with its message.
int cmd_train(const std::string& config_path, const std::vector<std::string>& sets, ef::Communicator& comm) {
  const bool lead = comm.rank() == 0;
  ef::Config cfg;
  echoflow::Table table;
  echoflow::ReadOptions ro;
  ef::run_agreed(comm, [&] {
    cfg = ef::load_config(config_path, sets);
    ro.types = cfg.column_types;
    ro.missing_tokens = cfg.missing_tokens;
    ro.categorical_max_levels = cfg.categorical_max_levels;
    ro.header = cfg.header;
    if (cfg.sharded) return;
    table = echoflow::read_table(cfg.data_path, ro);
    drop_id_like_columns(table, cfg);
  });
  // Each rank reads its own shards (docs/SCALE.md). read_shards agrees on each step that may fail
  // on one rank; its other checks see the same gathered data on every rank, so all ranks fail
  // together and this outer phase reports once.
  if (cfg.sharded) ef::run_agreed(comm, [&] {
    std::vector<std::string> dropped;
    const std::vector<std::string> agreed = comm.allgather(nlohmann::json(cfg.data_shards).dump());
    for (int q = 1; q < comm.size(); ++q)
      if (agreed[size_t(q)] != agreed[0])
        throw ef::AgreedError("the ranks see different shard lists for data.path (rank 0: " + agreed[0] +
                                  ", rank " + std::to_string(q) + ": " + agreed[size_t(q)] + ")",
                              __FILE__, __LINE__);
    table = echoflow::read_shards(comm, cfg.data_shards, ro, size_t(cfg.categorical_max_labels), &dropped);
    warn_dropped(table, cfg, dropped, lead);
  });
  echoflow::FitOptions opt = ef::fit_options(cfg);
  opt.train.comm = &comm;
  opt.train.sharded = cfg.sharded;
  double rows = double(table.rows());  // sharded: over all ranks
  if (cfg.sharded) comm.sum(&rows, 1);
  if (lead)
    std::fprintf(stderr, "eftrain: %s: %.0f rows x %zu columns; %s, %d layers; device %s%s\n",
                 cfg.data_path.c_str(), rows, table.columns.size(),
                 ef::flow_name(cfg.flow).c_str(), cfg.flow.layers, cfg.device.c_str(),
                 comm.size() > 1 ? ("; " + std::to_string(comm.size()) + " ranks").c_str() : "");
  if (lead)
    opt.on_schema = [](const nlohmann::json& schema) {
      std::fprintf(stderr, "eftrain: schema (stored in the model; `eftrain info MODEL` prints it):\n%s",
                   ef::format_schema(schema).c_str());
    };
  if (lead) opt.on_epoch = [](const ef::EpochReport& r) { std::fputs(ef::progress_line(r).c_str(), stderr); };
  std::unique_ptr<echoflow::Model> m;
  ef::run_agreed(comm, [&] { m = std::make_unique<echoflow::Model>(echoflow::Model::fit(table, opt)); });
  ef::run_agreed(comm, [&] {
    if (lead) m->save(cfg.output_model);
  });
  const ef::TrainResult& t = m->training();
  if (lead)
    std::fprintf(stderr, "eftrain: %s; model written to %s\n", ef::training_summary(t).c_str(),
                 cfg.output_model.c_str());
  if (lead && t.grad_sums > 0)
    std::fprintf(stderr, "eftrain: gradient sums over %d ranks: %ld steps x %zu bytes, %.3f ms a step (%.1f%% of %.1f s)\n",
                 comm.size(), t.grad_sums, t.grad_sum_bytes, 1e3 * t.grad_sum_seconds / double(t.grad_sums),
                 100.0 * t.grad_sum_seconds / std::max(t.seconds, 1e-9), t.seconds);
  return 0;
}

int cmd_sample(const std::string& model, long rows, const std::string& out, uint64_t seed,
               const std::vector<std::string>& givens, ef::Communicator& comm) {
  if (rows <= 0) throw ef::Error("--rows must be positive (got " + std::to_string(rows) + ")", __FILE__, __LINE__);
  std::map<std::string, std::string> given;
  for (auto& g : givens) {
    const size_t eq = g.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ef::Error("--given " + g + ": expected COLUMN=VALUE", __FILE__, __LINE__);
    const std::string col = g.substr(0, eq);
    if (given.count(col)) throw ef::Error("--given " + col + " is repeated", __FILE__, __LINE__);
    given[col] = g.substr(eq + 1);
  }
  ef::SampleInfo info;
  if (comm.size() > 1) {
    std::unique_ptr<echoflow::Model> m;
    ef::run_agreed(comm, [&] { m = std::make_unique<echoflow::Model>(echoflow::Model::load(model, comm)); });
    echoflow::sample_over_ranks(comm, *m, size_t(rows), given, seed, out, kBlockRows, &info);
    if (comm.rank() != 0) return 0;
  } else {
    echoflow::Model m = echoflow::Model::load(model);
    stream_sample(m, size_t(rows), given, seed, out, &info);
  }
  if (info.method == "importance")
    std::fprintf(stderr, "eftrain: conditional draws by importance resampling with exact weights: "
                 "%zu proposals, effective sample size %.1f for %ld rows\n", info.proposals, info.ess, rows);
  else if (info.method == "enumeration")
    std::fprintf(stderr, "eftrain: conditional draws are exact (enumerated %zu categorical combinations)\n",
                 info.proposals);
  return 0;
}

int cmd_score(const std::string& model, const std::string& data, const std::string& out,
              ef::Communicator& comm) {
  if (comm.size() > 1) {
    std::unique_ptr<echoflow::Model> m;
    ef::run_agreed(comm, [&] { m = std::make_unique<echoflow::Model>(echoflow::Model::load(model, comm)); });
    echoflow::score_over_ranks(comm, *m, data, out, kBlockRows);
    return 0;
  }
  echoflow::Model m = echoflow::Model::load(model);
  echoflow::score_csv(m, data, out);  // host/score_stream.hpp
  return 0;
}

// --- info: what a model file holds ------------------------------------------------------------

int cmd_info(const std::string& model) {
  echoflow::Model m = echoflow::Model::load(model);
  const ef::TrainResult& t = m.training();
  const nlohmann::json& cfg = m.config();
  std::printf("model: %s\n", model.c_str());
  if (cfg.contains("model")) std::printf("flow: %s\n", cfg["model"].dump().c_str());
  std::printf("schema (%zu columns):\n", m.column_names().size());
  if (m.schema().is_null())
    std::printf("  (not stored: the model was written by an older eftrain)\n");
  else
    std::printf("%s", ef::format_schema(m.schema()).c_str());
  std::printf("training: %d epochs in %.1f s%s; best epoch %d, validation NLL %.4f, final train NLL %.4f; "
              "%d training rows, %d validation rows\n",
              t.epochs_run, t.seconds, t.stopped_early ? " (early stop)" : "", t.best_epoch, t.best_val_nll,
              t.final_train_nll, t.n_train, t.n_val);
  if (!t.categorical_model.empty()) std::printf("categorical model: %s\n", t.categorical_model.c_str());
  if (t.weight_decay > 0) std::printf("weight decay: %g on %s\n", t.weight_decay, t.decay_on.c_str());
  return 0;
}

// --- plot: CSV files side by side, one panel each ---------------------------------------------

// One axis of `eftrain plot` over every file: numeric (data units) or categorical (the labels,
// in sorted order). Discrete axes (categories, or whole numbers with few distinct values) are
// jittered so that piled-up rows stay visible; the axis name says so.
struct PlotAxisData {
  ef::PlotAxis axis;
  std::vector<std::vector<double>> values;  // per file, per row (NaN: missing)
};

double jitter_of(size_t file, size_t row, int axis) {  // uniform in [-1, 1), fixed per cell
  uint64_t h = (uint64_t(file) * 0x9e3779b97f4a7c15ULL) ^ (uint64_t(row) * 0xbf58476d1ce4e5b9ULL) ^
               (uint64_t(axis) * 0x94d049bb133111ebULL);
  h ^= h >> 31;
  h *= 0xd6e8feb86659fd3bULL;
  h ^= h >> 29;
  return double(h >> 11) / double(1ULL << 52) - 1.0;
}

PlotAxisData plot_axis(const std::vector<echoflow::Table>& tables, const std::string& col, int axis) {
  PlotAxisData d;
  d.axis.name = col;
  bool categorical = false;
  for (auto& t : tables) categorical |= t.columns[t.find(col)].type == ef::ColumnType::Categorical;
  auto text_of = [](const echoflow::Column& c, size_t r) {
    if (c.type == ef::ColumnType::Categorical) return c.labels[r];
    char b[40];
    std::snprintf(b, sizeof b, "%.15g", c.values[r]);
    return std::string(b);
  };
  if (categorical) {
    std::set<std::string> levels;
    for (auto& t : tables) {
      const auto& c = t.columns[t.find(col)];
      for (size_t r = 0; r < c.size(); ++r)
        if (!c.is_missing(r)) levels.insert(text_of(c, r));
    }
    d.axis.categories.assign(levels.begin(), levels.end());
  }
  std::set<double> distinct;
  for (size_t f = 0; f < tables.size(); ++f) {
    const auto& c = tables[f].columns[tables[f].find(col)];
    std::vector<double> v(c.size(), NAN);
    for (size_t r = 0; r < c.size(); ++r) {
      if (c.is_missing(r)) continue;
      if (categorical) {
        const auto& cats = d.axis.categories;
        v[r] = double(std::lower_bound(cats.begin(), cats.end(), text_of(c, r)) - cats.begin());
      } else {
        v[r] = c.values[r];
        if (distinct.size() <= 30) distinct.insert(v[r]);
      }
    }
    d.values.push_back(std::move(v));
  }
  // Jitter width: a categorical step is 1; a discrete numeric axis gets 0.3 of its smallest gap.
  double width = categorical ? 0.3 : 0;
  if (!categorical && distinct.size() >= 2 && distinct.size() <= 30) {
    bool whole = true;
    double gap = INFINITY, prev = NAN;
    for (double x : distinct) {
      whole &= x == std::floor(x);
      if (!std::isnan(prev)) gap = std::min(gap, x - prev);
      prev = x;
    }
    if (whole) {
      width = 0.3 * gap;
      d.axis.min_step = 1;  // ticks on whole numbers only
    }
  }
  if (width > 0) {
    d.axis.name += " (jittered)";
    for (size_t f = 0; f < d.values.size(); ++f)
      for (size_t r = 0; r < d.values[f].size(); ++r) d.values[f][r] += width * jitter_of(f, r, axis);
  }
  return d;
}

int cmd_plot(const std::vector<std::string>& files, const std::string& out, std::string xcol,
             std::string ycol, const std::vector<std::string>& labels) {
  if (!labels.empty() && labels.size() != files.size())
    throw CLI::ValidationError("--labels", "gives " + std::to_string(labels.size()) + " labels for " +
                               std::to_string(files.size()) + " files");
  std::vector<echoflow::Table> tables;
  echoflow::ReadOptions ro;
  ro.categorical_max_levels = 0;  // integer columns with few values stay numeric here
  for (auto& f : files) {
    tables.push_back(echoflow::read_table(f, ro));
    const echoflow::Table& t = tables.back();
    if (xcol.empty()) {
      if (t.columns.size() < 2) throw ef::Error(f + ": need two columns to plot (or --x and --y)", __FILE__, __LINE__);
      xcol = t.columns[0].name;
      ycol = t.columns[1].name;
    }
    for (auto* c : {&xcol, &ycol})
      if (t.find(*c) < 0) throw ef::Error(f + ": no column \"" + *c + "\"", __FILE__, __LINE__);
  }
  const PlotAxisData X = plot_axis(tables, xcol, 0), Y = plot_axis(tables, ycol, 1);
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  ef::Figure fig;
  fig.title = ycol + " vs " + xcol;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string label = !labels.empty() ? labels[i] : i == 0 ? "real" : "synthetic";
    if (labels.empty() && files.size() > 2 && i > 0) label += " " + std::to_string(i);
    ef::PlotSeries s;
    s.color = colors[i % 4];
    size_t shown = 0;
    for (size_t r = 0; r < X.values[i].size(); ++r)
      if (!std::isnan(X.values[i][r]) && !std::isnan(Y.values[i][r])) {
        s.x.push_back(X.values[i][r]);
        s.y.push_back(Y.values[i][r]);
        ++shown;
      }
    const size_t total = tables[i].rows();
    s.label = label + " (" + std::to_string(total) + " rows" +
              (shown < total ? ", " + std::to_string(total - shown) + " missing, not shown" : "") + ")";
    ef::PlotPanel p;
    p.title = label + ": " + std::filesystem::path(files[i]).filename().string();
    p.x = X.axis;
    p.y = Y.axis;
    p.series.push_back(std::move(s));
    fig.panels.push_back(std::move(p));
  }
  ef::write_figure(out, fig);
  return 0;
}

// --- visualize: the base normal pushed back through the flow, one panel per stage -------------

// DIR/layer_K.csv for every stage and DIR/layers.png with the stages on a grid (2-D models).
int cmd_visualize(const std::string& model, const std::string& dir, long rows, uint64_t seed) {
  if (rows <= 0) throw CLI::ValidationError("--rows", "must be positive (got " + std::to_string(rows) + ")");
  echoflow::Model m = echoflow::Model::load(model);
  const auto names = m.column_names();
  if (names.size() != 2)
    throw ef::Error("visualize draws 2-D models (this one has " + std::to_string(names.size()) + " columns)",
                    __FILE__, __LINE__);
  std::vector<std::string> stage_names;
  const auto stages = m.layer_trace(size_t(rows), seed, &stage_names);
  std::filesystem::create_directories(dir);
  ef::Figure fig;
  fig.title = std::filesystem::path(model).filename().string() +
              ": base normal pushed back through the flow, layer by layer";
  fig.columns = 4;
  fig.shared_axes = false;  // the stages live in different ranges
  for (size_t k = 0; k < stages.size(); ++k) {
    ef::PlotPanel p;
    p.title = "stage " + std::to_string(k) + ": " + stage_names[k];
    p.x.name = "u1 = " + names[0] + ", encoded";
    p.y.name = "u2 = " + names[1] + ", encoded";
    ef::PlotSeries s;
    s.label = std::to_string(rows) + " draws";
    std::string csv = names[0] + "," + names[1] + "\n";
    char b[64];
    for (size_t r = 0; r < size_t(rows); ++r) {
      s.x.push_back(stages[k][2 * r]);
      s.y.push_back(stages[k][2 * r + 1]);
      std::snprintf(b, sizeof b, "%.6g,%.6g\n", stages[k][2 * r], stages[k][2 * r + 1]);
      csv += b;
    }
    ef::write_file_atomic(dir + "/layer_" + std::to_string(k) + ".csv", csv);
    p.series.push_back(std::move(s));
    fig.panels.push_back(std::move(p));
  }
  // Last panel: samples decoded to the table's units (the stages above are in encoded units).
  {
    const echoflow::Table t = m.sample(size_t(rows), {}, seed);
    ef::PlotPanel p;
    p.title = "samples in the table's units";
    p.x.name = names[0];
    p.y.name = names[1];
    p.series.push_back({"synthetic (" + std::to_string(rows) + " rows)", t.columns[0].values,
                        t.columns[1].values, "#d62728"});
    fig.panels.push_back(std::move(p));
  }
  ef::write_figure(dir + "/layers.png", fig);
  std::fprintf(stderr, "eftrain: %zu stages written to %s (layer_*.csv in encoded units, layers.png)\n",
               stages.size(), dir.c_str());
  return 0;
}

// --rows N: a usage error (exit 2) unless N is a whole number >= 1.
CLI::Validator positive_count() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || v < 1) return "must be positive, a whole number >= 1 (got " + s + ")";
        return "";
      },
      "N>=1");
}

}  // namespace

// Whether a command does enough parallel work to need GOMP_SPINCOUNT (host/omp_env.hpp): the
// re-execution that sets it costs a second process start, which --help, --version and a
// one-row sample should not pay; a barrier-heavy run (training, many rows) must not run with the
// default spin.
constexpr long kParallelRows = 4096;
constexpr uintmax_t kParallelBytes = 256 * 1024;

bool big_input(const std::string& path) {
  std::error_code ec;
  const uintmax_t n = std::filesystem::file_size(path, ec);
  return ec || n >= kParallelBytes;  // a pipe or a file that cannot be measured counts as big
}

int main(int argc, char** argv) {
  ef::Communicator* comm = &ef::single_process();
  CLI::App app{"eftrain: train, sample and score EchoFlow normalizing-flow models of tables"};
  app.set_version_flag("--version", [] { return echoflow::version_string(); });
  app.require_subcommand(1);

  std::string config, model, out, data;
  std::vector<std::string> sets, givens, plot_files;
  long rows = 0;
  uint64_t seed = 0;
  std::string xcol, ycol;

  auto* train = app.add_subcommand("train", "train a model from a JSON config");
  train->add_option("config", config, "config file (JSON)")->required();
  train->add_option("--set", sets, "override a config key by dotted path: KEY=VALUE");
  train->footer("Config keys, their defaults and meanings: eftrain config");

  auto* config_cmd = app.add_subcommand(
      "config", "print a commented config template: every key with its default and meaning");

  auto* sample = app.add_subcommand("sample", "draw synthetic rows from a model");
  sample->add_option("model", model, "model file (.efm)")->required();
  sample->add_option("--rows", rows, "number of rows")->required()->check(positive_count());
  sample->add_option("--out", out, "output CSV")->required();
  sample->add_option("--seed", seed, "random seed (same seed, same rows)");
  sample->add_option("--given", givens, "fix a conditional column: COLUMN=VALUE");

  auto* score = app.add_subcommand("score", "natural-log density of each row, original units");
  score->add_option("model", model, "model file (.efm)")->required();
  score->add_option("--data", data, "input CSV")->required();
  score->add_option("--out", out, "output CSV (header log_prob)")->required();

  auto* plot = app.add_subcommand("plot", "labelled scatter plots of CSV files side by side (.png, .svg or .pdf)");
  plot->add_option("files", plot_files, "CSV files, one panel each")->required();
  plot->add_option("--out", out, "output .png, .svg or .pdf")->required();
  plot->add_option("--x", xcol, "x column (default: first)");
  plot->add_option("--y", ycol, "y column (default: second)");
  std::vector<std::string> plot_labels;
  plot->add_option("--labels", plot_labels, "one legend label per file (default: real, synthetic)")
      ->delimiter(',');

  long vis_rows = 2000;
  auto* vis = app.add_subcommand("visualize", "the base normal pushed back through the flow layer by layer (2-D models)");
  vis->add_option("model", model, "model file (.efm)")->required();
  vis->add_option("--out", out, "output folder")->required();
  vis->add_option("--rows", vis_rows, "points per stage")->check(positive_count());
  vis->add_option("--seed", seed, "random seed");

  auto* info = app.add_subcommand("info", "print a model's schema and training summary");
  info->add_option("model", model, "model file (.efm)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help/version or the usage error
    return rc == 0 ? 0 : 2;
  }
  if (*train || (*sample && rows >= kParallelRows) || (*score && big_input(data)) ||
      (*vis && vis_rows >= kParallelRows))
    ef::ensure_bounded_omp_wait(argc, argv);
  // One rank of R under mpirun/srun (MPI builds), else this process alone. After the possible
  // re-execution above: a process must not re-execute itself once MPI is initialized.
  try {
    comm = &ef::world(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eftrain: error: %s\n", e.what());
    return 1;
  }
  try {
    if (*train) return cmd_train(config, sets, *comm);
    if (*config_cmd) {
      std::fputs(ef::config_template().c_str(), stdout);
      return 0;
    }
    if (*sample) return cmd_sample(model, rows, out, seed, givens, *comm);
    if (*score) return cmd_score(model, data, out, *comm);
    if (*plot) return cmd_plot(plot_files, out, xcol, ycol, plot_labels);
    if (*vis) return cmd_visualize(model, out, vis_rows, seed);
    if (*info) return cmd_info(model);
  } catch (const CLI::Error& e) {  // a usage error found after parsing
    std::fprintf(stderr, "eftrain: usage error: %s %s\n", e.get_name().c_str(), e.what());
    return 2;
  } catch (const ef::AgreedError& e) {  // every rank has it: rank 0 reports, all exit 1
    if (comm->rank() == 0) std::fprintf(stderr, "eftrain: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    if (comm->size() == 1) {
      std::fprintf(stderr, "eftrain: error: %s\n", e.what());
      return 1;
    }
    // Only this rank failed, outside an agreed phase: the others may be waiting in a collective.
    std::fprintf(stderr, "eftrain: error: rank %d: %s\n", comm->rank(), e.what());
    std::fflush(stderr);
    comm->abort(1);
  }
  return 0;
}
