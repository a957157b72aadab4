// EchoFlow public C++ API: tables in, a fitted flow out; scoring, sampling, saving, loading.
//
//   echoflow::Table t = echoflow::read_table("train.csv", {});
//   echoflow::FitOptions opt;            // flow, training, conditional columns, device
//   echoflow::Model m = echoflow::Model::fit(t, opt);
//   std::vector<double> lp = m.score(t);  // natural-log density in original units
//   echoflow::Table s = m.sample(1000, {}, /*seed=*/7);
//   m.save("model.efm");
//
// Errors are ef::Error exceptions with a message naming the file, row and column concerned.
// Thread safety: a Model may be shared by threads; score() and sample() serialize on an internal
// mutex (they reuse one workspace), so concurrent calls are safe but not parallel.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// Found next to this header once installed (include/echoflow/), and through the engine/ and host/
// include directories in the build tree.
#include "encoders.hpp"
#include "error.hpp"
#include "flow_spec.hpp"
#include "tabular_model.hpp"
#include "trainer.hpp"

namespace echoflow {

using ef::ColumnType;
using ef::Error;

using ef::ColumnOptions;

struct Column {
  std::string name;
  ColumnType type = ColumnType::Continuous;
  std::vector<double> values;       // continuous and integer columns
  std::vector<std::string> labels;  // categorical columns
  std::vector<uint8_t> missing;     // empty (nothing missing) or one flag per row
  std::string missing_token;        // how missing values are written ("" by default)
  static Column numeric(std::string name, std::vector<double> v,
                        ColumnType t = ColumnType::Continuous) {
    Column c;
    c.name = std::move(name);
    c.type = t;
    c.values = std::move(v);
    return c;
  }
  static Column categorical(std::string name, std::vector<std::string> l) {
    Column c;
    c.name = std::move(name);
    c.type = ColumnType::Categorical;
    c.labels = std::move(l);
    return c;
  }
  size_t size() const { return type == ColumnType::Categorical ? labels.size() : values.size(); }
  bool is_missing(size_t r) const { return !missing.empty() && missing[r]; }
};

struct Table {
  std::vector<Column> columns;
  std::string source;  // file name, for messages ("" for in-memory tables)
  size_t rows() const { return columns.empty() ? 0 : columns[0].size(); }
  // Index of a column by name, or -1.
  int find(const std::string& name) const;
};

struct ReadOptions {
  std::map<std::string, ColumnType> types;  // declared types; the others are inferred
  std::vector<std::string> missing_tokens{"", "NA", "?", "nan"};
  // A numeric column with at most this many distinct values, and at most half as many distinct
  // values as rows, is read as categorical (0 disables).
  int categorical_max_levels = 10;
  std::string declared_by = "the config (data.columns)";  // for the missing-column message
  std::vector<std::string> header;  // column names when the file has no header row
};

// The type inference rule for a column of numbers (NaN = missing), shared by the CSV reader and
// the Python package's DataFrames: no value present -> categorical; at most categorical_max_levels
// distinct values, and at most half as many as present values -> categorical; all whole numbers
// -> integer; else continuous.
ColumnType infer_numeric_type(const double* values, size_t n, int categorical_max_levels);

// Reads a CSV (or .csv.gz) file. Type inference for undeclared columns: any non-number ->
// categorical, else infer_numeric_type. Missing-value tokens become missing values. Errors name
// the file, row and column.
Table read_table(const std::string& path, const ReadOptions& opt);
// Writes a table as CSV; nothing is visible at `path` until the whole file is written (see
// host/output_file.hpp). Numbers in the shortest form that reads back exactly.
void write_table(const Table& t, const std::string& path);

// Removes categorical columns with more than max_labels distinct labels (ID-like columns: each
// label too rare to learn, and the model's size grows with labels x hidden width). Returns
// "NAME (N distinct labels)" for each removed column. max_labels = 0 keeps every column.
std::vector<std::string> drop_high_cardinality(Table& t, size_t max_labels);

struct FitOptions {
  ef::FlowSpec flow;                    // dim/context are set by fit
  std::map<std::string, ColumnOptions> columns;  // bounds / encoder choice per column
  // Numeric columns without declared bounds: "observed" keeps samples inside the observed
  // [min, max] widened by support_margin * (max - min) on each side (a logit map, exact
  // densities; rows outside score -inf); "unbounded" is the open real line. A column's own
  // ColumnOptions::support (has_support) overrides.
  ef::Support support = ef::Support::Observed;
  double support_margin = 0.1;
  // Numeric columns on encoder "auto" whose quantile map has deep density valleys are split
  // into modes there (ef::ColumnEncoder::mode_z); false keeps one mode per column.
  bool split_modes = true;
  std::vector<std::string> missing_tokens{"", "NA", "?", "nan"};  // kept for scoring files
  ef::TrainOptions train;
  // Model choice by validation likelihood (host/model_choice.hpp): brief fits of each candidate
  // flow kind (empty or one: the flow is pinned) and, with choose_encoders, of the numeric
  // columns on encoder "auto" standardized instead; the winner is then fitted in full and the
  // choice reported in training().choice. The config's model.choose = "auto" (not the default
  // yet) sets both, the flows unless model.flow / model.permutation is given.
  std::vector<ef::FlowKind> choose_flows;
  bool choose_encoders = false;
  // The categorical model's column order: "table", "dag" (the default: a topological order of a
  // Bayesian network learned from the training rows, host/structure_search.hpp) or "dependence" (a
  // Chow-Liu tree's order, host/column_order.hpp; better on alarm, worse on penguins and
  // insurance): bench/results/QUALITY_DEFAULTS.md.
  std::string categorical_order = "dag";
  // Block R's categorical model (host/categorical_choice.hpp): "auto" (the default), on a
  // categorical-only table, trains the MADE, then keeps it or a count-table Bayesian network on the learned DAG, whichever scores
  // the validation rows better (without conditional columns, on the CPU only; else the MADE);
  // "made"; "table" (an error where the table model does not apply). training().categorical_model
  // says which and why.
  std::string categorical_model = "auto";
  std::vector<std::string> conditional; // columns `sample --given` may fix
  std::string device = "auto";          // auto | cpu | cuda
  int threads = 0;                      // 0 = library default
  std::function<void(const ef::EpochReport&)> on_epoch;
  // Called once before the first epoch with the inferred schema (Model::schema()).
  std::function<void(const nlohmann::json&)> on_schema;
  nlohmann::json config;                // stored in the model file for provenance
};

class Model {
 public:
  static Model fit(const Table& data, const FitOptions& opt);
  static Model load(const std::string& path);
  // load() on one rank of a multi-process run (mpirun; host/ranks_io.hpp): with several ranks,
  // a GPU runs this rank's scoring and sampling on the device of its local rank, as fit does
  // (ef::backend_local_rank), instead of every rank of a node on device 0.
  static Model load(const std::string& path, const ef::Communicator& ranks);
  void save(const std::string& path) const;

  // log p(row) for every row of t, natural log, original units. Columns are matched by name;
  // extra columns are ignored.
  std::vector<double> score(const Table& t) const;
  // score() of a block of a larger table whose first row is row first_row (0-based) of the
  // whole: the fixed noise draws and the row numbers in messages follow the row's position in
  // the whole table, so scoring a file block by block gives the same numbers as at once.
  // NaN or +inf (an overflow) is an error naming the row; -inf means "outside the support".
  std::vector<double> score(const Table& t, size_t first_row) const;
  // n rows in the training table's column order. `given` fixes any subset of the conditional
  // columns (value as text: a label, a number, or a missing token); the rest are drawn from
  // p(rest | given). `info` (optional) says how: ancestral, enumeration or importance
  // resampling (with its effective sample size).
  Table sample(size_t n, const std::map<std::string, std::string>& given, uint64_t seed,
               ef::SampleInfo* info = nullptr) const;
  // sample() a block at a time: `sink` gets consecutive blocks of about block_rows rows (whole
  // internal chunks), whose concatenation is exactly sample(n, given, seed); memory is one
  // block. A non-finite decoded value (an overflow) is an error naming the row and column.
  void sample_blocks(size_t n, const std::map<std::string, std::string>& given, uint64_t seed,
                     size_t block_rows, const std::function<void(Table&)>& sink,
                     ef::SampleInfo* info = nullptr) const;
  // Rows [first_row, first_row + n) of sample_blocks(total, ...), for a range that starts at a
  // multiple of sample_chunk_rows(!given.empty()) and ends at one or at `total`: the ranks of a
  // multi-process run draw consecutive ranges and together write the 1-process bytes.
  void sample_range(size_t first_row, size_t n, const std::map<std::string, std::string>& given,
                    uint64_t seed, size_t block_rows, const std::function<void(Table&)>& sink,
                    ef::SampleInfo* info = nullptr) const;
  static size_t sample_chunk_rows(bool conditional) { return conditional ? 2048 : 8192; }

  const ef::TrainResult& training() const;
  // What fit made of the table, per column (type, encoder, levels or range, missing rate, point
  // masses, conditional) and the device it trained on ("reason" when "auto" fell back to the
  // CPU); stored in the model file. ef::format_schema (host/schema.hpp) prints it as a table.
  const nlohmann::json& schema() const;
  const nlohmann::json& config() const;  // the effective config stored at training (may be null)
  std::vector<std::string> column_names() const;
  std::map<std::string, ColumnType> column_types() const;
  std::vector<std::string> missing_tokens() const;  // the tokens read as missing at training
  const std::vector<std::string>& conditional() const;
  // The base normal pushed back through the flow layer by layer (unconditional models, 2-D
  // views): out[k] is the cloud after undoing the last k layers, in encoded units. names
  // (optional) gets one label per stage: "base N(0, I)", then the layer undone, e.g.
  // "undo 3/10: nsf-coupling" (counting the flow's steps, permutations included).
  std::vector<std::vector<float>> layer_trace(size_t n, uint64_t seed,
                                              std::vector<std::string>* names = nullptr) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

std::string version_string();  // "echoflow X.Y.Z (CUDA: ...)"

}  // namespace echoflow
