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

#include "../../../engine/error.hpp"
#include "../../../engine/flow_spec.hpp"
#include "../../../engine/trainer.hpp"
#include "../../encoders.hpp"

namespace echoflow {

using ef::ColumnType;
using ef::Error;

struct Column {
  std::string name;
  ColumnType type = ColumnType::Continuous;
  std::vector<double> values;  // continuous and integer columns
};

struct Table {
  std::vector<Column> columns;
  std::string source;  // file name, for messages ("" for in-memory tables)
  size_t rows() const { return columns.empty() ? 0 : columns[0].values.size(); }
  // Index of a column by name, or -1.
  int find(const std::string& name) const;
};

// Reads a CSV (or .csv.gz) file. `declared` fixes column types; the others are inferred:
// all values whole numbers -> integer, other numbers -> continuous, text -> categorical.
// `declared_by` names where the declarations come from, for the missing-column message.
Table read_table(const std::string& path, const std::map<std::string, ColumnType>& declared,
                 const std::string& declared_by = "the config (data.columns)");
// Writes a table as CSV atomically (temporary file + rename).
void write_table(const Table& t, const std::string& path);

struct FitOptions {
  ef::FlowSpec flow;                    // dim/context are set by fit
  ef::TrainOptions train;
  std::vector<std::string> conditional; // columns `sample --given` may fix
  std::string device = "auto";          // auto | cpu | cuda
  int threads = 0;                      // 0 = library default
  std::function<void(const ef::EpochReport&)> on_epoch;
  nlohmann::json config;                // stored in the model file for provenance
};

class Model {
 public:
  static Model fit(const Table& data, const FitOptions& opt);
  static Model load(const std::string& path);
  void save(const std::string& path) const;

  // log p(row) for every row of t, natural log, original units. Columns are matched by name;
  // extra columns are ignored.
  std::vector<double> score(const Table& t) const;
  // n rows in the training table's column order. `given` fixes conditional columns
  // (all of them, in this version) to a value, drawing the rest from p(rest | given).
  Table sample(size_t n, const std::map<std::string, std::string>& given, uint64_t seed) const;

  const ef::TrainResult& training() const;
  std::vector<std::string> column_names() const;
  std::map<std::string, ColumnType> column_types() const;
  const std::vector<std::string>& conditional() const;
  // The base normal pushed back through the flow layer by layer (unconditional models, 2-D
  // views): out[k] is the cloud after undoing the last k layers, in encoded units.
  std::vector<std::vector<float>> layer_trace(size_t n, uint64_t seed) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

std::string version_string();  // "echoflow X.Y.Z (CUDA: ...)"

}  // namespace echoflow
