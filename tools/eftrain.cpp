// eftrain: train, sample, score and plot EchoFlow models from the command line.
//   eftrain train CONFIG.json [--set KEY=VALUE]...
//   eftrain sample MODEL --rows N --out OUT.csv [--seed S] [--given COLUMN=VALUE]...
//   eftrain score MODEL --data IN.csv --out OUT.csv
//   eftrain plot FILE.csv... --out PLOT.svg|PLOT.png [--x COL --y COL]
//   eftrain visualize MODEL --out DIR [--rows N] [--seed S]   (2-D models, layer by layer)
//   eftrain config                     (a commented template with every config key)
//   eftrain --version
// Built on the echoflow C++ API plus the host floor's config parser, CSV reader and plot
// writer (host/config.hpp, host/csv.hpp, host/svg_plot.hpp). Errors: message on stderr, exit
// status 1 (2 for usage).
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <echoflow/echoflow.hpp>
#include <string>
#include <vector>

#include "config.hpp"
#include "config_keys.hpp"
#include "progress.hpp"
#include "omp_env.hpp"
#include "block_pipeline.hpp"
#include "csv.hpp"
#include "svg_plot.hpp"
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

// Reads, scores and writes the input a block at a time; -inf = outside the model's support.
void stream_score(const echoflow::Model& m, const std::string& data, const std::string& out) {
  // Read with the model's column types, so a bad value is reported against the model's column.
  echoflow::ReadOptions ro;
  ro.types = m.column_types();
  ro.declared_by = "the model";
  ro.missing_tokens = m.missing_tokens();
  echoflow::TableReader reader(data, ro);
  ef::OutputFile f(out);
  f.write("log_prob\n", 9);
  echoflow::Table t;
  std::string s;
  while (reader.next(t, kBlockRows)) {
    const std::vector<double> lp = m.score(t, reader.first_row());
    s.clear();
    char b[32];
    for (double v : lp) {
      s.append(b, std::to_chars(b, b + sizeof b, v).ptr);
      s += '\n';
    }
    f.write(s);
  }
  f.commit();
}

// Categorical columns with more distinct labels than data.categorical_max_labels (ID-like) are
// dropped with a warning; one the config names (conditional, data.columns) is an error.
void drop_id_like_columns(echoflow::Table& table, const ef::Config& cfg) {
  const auto dropped = echoflow::drop_high_cardinality(table, size_t(cfg.categorical_max_labels));
  for (const std::string& d : dropped) {
    const std::string name = d.substr(0, d.rfind(" ("));
    bool named = cfg.column_types.count(name) || cfg.column_options.count(name);
    for (auto& c : cfg.conditional) named |= c == name;
    if (named)  // the config asks for this column: refuse rather than drop
      throw ef::Error(cfg.data_path + ": column " + d + " has more labels than data.categorical_max_labels = " +
                          std::to_string(cfg.categorical_max_labels) + "; the config names it, so raise the limit or remove it",
                      __FILE__, __LINE__);
    std::fprintf(stderr, "eftrain: warning: %s: column %s dropped: more than data.categorical_max_labels = %d "
                 "(an ID-like column cannot be learned; raise the limit to keep it)\n",
                 cfg.data_path.c_str(), d.c_str(), cfg.categorical_max_labels);
  }
  if (table.columns.empty()) throw ef::Error(cfg.data_path + ": no columns left to model", __FILE__, __LINE__);
}

int cmd_train(const std::string& config_path, const std::vector<std::string>& sets) {
  ef::Config cfg = ef::load_config(config_path, sets);
  echoflow::ReadOptions ro;
  ro.types = cfg.column_types;
  ro.missing_tokens = cfg.missing_tokens;
  ro.categorical_max_levels = cfg.categorical_max_levels;
  ro.header = cfg.header;
  echoflow::Table table = echoflow::read_table(cfg.data_path, ro);
  drop_id_like_columns(table, cfg);
  echoflow::FitOptions opt = ef::fit_options(cfg);
  std::fprintf(stderr, "eftrain: %s: %zu rows x %zu columns; %s, %d layers; device %s\n",
               cfg.data_path.c_str(), table.rows(), table.columns.size(),
               ef::flow_name(cfg.flow).c_str(), cfg.flow.layers, cfg.device.c_str());
  opt.on_epoch = [](const ef::EpochReport& r) { std::fputs(ef::progress_line(r).c_str(), stderr); };
  echoflow::Model m = echoflow::Model::fit(table, opt);
  m.save(cfg.output_model);
  const ef::TrainResult& t = m.training();
  std::fprintf(stderr, "eftrain: %s; model written to %s\n", ef::training_summary(t).c_str(),
               cfg.output_model.c_str());
  return 0;
}

int cmd_sample(const std::string& model, long rows, const std::string& out, uint64_t seed,
               const std::vector<std::string>& givens) {
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
  echoflow::Model m = echoflow::Model::load(model);
  ef::SampleInfo info;
  stream_sample(m, size_t(rows), given, seed, out, &info);
  if (info.method == "importance")
    std::fprintf(stderr, "eftrain: conditional draws by importance resampling with exact weights: "
                 "%zu proposals, effective sample size %.1f for %ld rows\n", info.proposals, info.ess, rows);
  else if (info.method == "enumeration")
    std::fprintf(stderr, "eftrain: conditional draws are exact (enumerated %zu categorical combinations)\n",
                 info.proposals);
  return 0;
}

int cmd_score(const std::string& model, const std::string& data, const std::string& out) {
  echoflow::Model m = echoflow::Model::load(model);
  stream_score(m, data, out);
  return 0;
}

int cmd_plot(const std::vector<std::string>& files, const std::string& out, std::string xcol,
             std::string ycol) {
  std::vector<ef::ScatterSeries> panels;
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  for (size_t i = 0; i < files.size(); ++i) {
    echoflow::Table t = echoflow::read_table(files[i], echoflow::ReadOptions());
    if (xcol.empty()) {
      if (t.columns.size() < 2) throw ef::Error(files[i] + ": need two numeric columns to plot", __FILE__, __LINE__);
      xcol = t.columns[0].name;
      ycol = t.columns[1].name;
    }
    const int xi = t.find(xcol), yi = t.find(ycol);
    if (xi < 0 || yi < 0)
      throw ef::Error(files[i] + ": no column \"" + (xi < 0 ? xcol : ycol) + "\"", __FILE__, __LINE__);
    if (t.columns[xi].type == ef::ColumnType::Categorical || t.columns[yi].type == ef::ColumnType::Categorical)
      throw ef::Error(files[i] + ": plot needs numeric columns", __FILE__, __LINE__);
    panels.push_back({files[i], t.columns[xi].values, t.columns[yi].values, colors[i % 4]});
  }
  if (out.size() > 4 && out.compare(out.size() - 4, 4, ".png") == 0)
    ef::write_scatter_png(out, panels);
  else
    ef::write_scatter_svg(out, xcol + " vs " + ycol, panels);
  return 0;
}

// The base normal pushed back through the flow one layer at a time (2-D continuous models):
// DIR/layer_K.csv for every stage and DIR/layers.png with the stages side by side.
int cmd_visualize(const std::string& model, const std::string& dir, long rows, uint64_t seed) {
  if (rows <= 0) throw ef::Error("--rows must be positive", __FILE__, __LINE__);
  echoflow::Model m = echoflow::Model::load(model);
  const auto names = m.column_names();
  const auto stages = m.layer_trace(size_t(rows), seed);
  if (names.size() != 2)
    throw ef::Error("visualize draws 2-D models (this one has " + std::to_string(names.size()) + " columns)",
                    __FILE__, __LINE__);
  std::filesystem::create_directories(dir);
  std::vector<ef::ScatterSeries> panels;
  for (size_t k = 0; k < stages.size(); ++k) {
    ef::ScatterSeries p;
    p.title = k == 0 ? "base N(0, I)" : "after undoing " + std::to_string(k) + " layer(s)";
    std::string csv = names[0] + "," + names[1] + "\n";
    char b[64];
    for (size_t r = 0; r < size_t(rows); ++r) {
      p.x.push_back(stages[k][2 * r]);
      p.y.push_back(stages[k][2 * r + 1]);
      std::snprintf(b, sizeof b, "%.6g,%.6g\n", stages[k][2 * r], stages[k][2 * r + 1]);
      csv += b;
    }
    p.color = "#1f77b4";
    ef::write_file_atomic(dir + "/layer_" + std::to_string(k) + ".csv", csv);
    panels.push_back(std::move(p));
  }
  // Last panel: samples decoded to the table's units (the stages above are in encoded units).
  {
    const echoflow::Table t = m.sample(size_t(rows), {}, seed);
    panels.back().color = "#1f77b4";
    panels.push_back({"samples, original units", t.columns[0].values, t.columns[1].values, "#d62728"});
  }
  // Each panel has its own scale: the stages live in different ranges.
  ef::write_scatter_png(dir + "/layers.png", panels, /*shared_axes=*/false);
  std::fprintf(stderr, "eftrain: %zu stages written to %s (layer_*.csv, layers.png); encoded units\n",
               stages.size(), dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ef::ensure_bounded_omp_wait(argc, argv);
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
  sample->add_option("--rows", rows, "number of rows")->required();
  sample->add_option("--out", out, "output CSV")->required();
  sample->add_option("--seed", seed, "random seed (same seed, same rows)");
  sample->add_option("--given", givens, "fix a conditional column: COLUMN=VALUE");

  auto* score = app.add_subcommand("score", "natural-log density of each row, original units");
  score->add_option("model", model, "model file (.efm)")->required();
  score->add_option("--data", data, "input CSV")->required();
  score->add_option("--out", out, "output CSV (header log_prob)")->required();

  auto* plot = app.add_subcommand("plot", "scatter plot of CSV files side by side (.svg, or .png)");
  plot->add_option("files", plot_files, "CSV files, one panel each")->required();
  plot->add_option("--out", out, "output .svg or .png")->required();
  plot->add_option("--x", xcol, "x column (default: first)");
  plot->add_option("--y", ycol, "y column (default: second)");

  long vis_rows = 2000;
  auto* vis = app.add_subcommand("visualize", "the base normal pushed back through the flow layer by layer (2-D models)");
  vis->add_option("model", model, "model file (.efm)")->required();
  vis->add_option("--out", out, "output folder")->required();
  vis->add_option("--rows", vis_rows, "points per stage");
  vis->add_option("--seed", seed, "random seed");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help/version or the usage error
    return rc == 0 ? 0 : 2;
  }
  try {
    if (*train) return cmd_train(config, sets);
    if (*config_cmd) {
      std::fputs(ef::config_template().c_str(), stdout);
      return 0;
    }
    if (*sample) return cmd_sample(model, rows, out, seed, givens);
    if (*score) return cmd_score(model, data, out);
    if (*plot) return cmd_plot(plot_files, out, xcol, ycol);
    if (*vis) return cmd_visualize(model, out, vis_rows, seed);
  } catch (const ef::Error& e) {
    std::fprintf(stderr, "eftrain: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eftrain: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
