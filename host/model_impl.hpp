// The state behind echoflow::Model, shared by model.cpp (fit/score/sample) and model_file.cpp
// (save/load).
#pragma once
#include <echoflow/echoflow.hpp>
#include <mutex>

#include "backend.hpp"
#include "encoders.hpp"

namespace echoflow {

struct Model::Impl {
  std::vector<ef::ColumnEncoder> enc;  // one per training column, in table order
  std::vector<std::string> conditional;
  std::vector<std::string> missing_tokens;
  ef::TabularSpec spec;                // parts: one per conditional column, then the rest
  std::vector<int> col_part, col_group, col_dim;  // per column: part, group index or -1, dim or -1
  // The unconditioned columns with a categorical group, in the categorical model's order
  // (host/column_order.hpp); empty = table order.
  std::vector<int> cat_order;
  // While fitting: the graph whose topological order cat_order is (model.categorical_order
  // "dag", no conditional columns), per block-R group its parents (groups, model order); the
  // categorical model choice's table model uses it. Empty otherwise; not saved.
  std::vector<std::vector<int>> dag_parents;
  std::vector<float> params;           // the flat buffer in spec's ParamLayout
  ef::TrainResult train;
  nlohmann::json config;
  nlohmann::json schema;               // host/schema.hpp: inferred columns and the device used
  std::string device = "auto";
  int local_rank = -1;                 // make_backend's: ef::backend_local_rank (host/communicator.hpp)

  mutable std::mutex mu;               // guards be and lanes (and their workspaces)
  mutable std::unique_ptr<ef::Backend> be;
  ef::Backend& backend() const;        // lazily built, params loaded; call with mu held
  // Scoring and sampling on the CPU run whole chunks side by side, one OpenMP thread and one
  // backend (its own workspace) per chunk, GEMMs single-threaded inside: a chunk then crosses
  // no barrier, where splitting every GEMM and loop of one chunk across the threads made the
  // threads wait at each of them (MAF sampling: D passes per layer). A chunk's rows get the
  // same bits either way (GEMM row tiles are fixed, engine/threads.cpp), so the output does not
  // change. Returns how many lanes to use for `chunks` chunks (1: the backend is not the CPU
  // one, or one thread); call with mu held.
  int chunk_lanes(size_t chunks) const;
  ef::Backend& lane(int k) const { return k == 0 ? *be : *lanes[size_t(k - 1)]; }
  mutable std::vector<std::unique_ptr<ef::Backend>> lanes;  // lanes 1.. (lane 0 is be)

  // Builds spec.parts and col_* from enc and conditional (flow hyper-parameters already set).
  void build_layout();
  // Encodes rows idx[0..B) of t (column k of the model read from t's column src[k]).
  // pass < 0: training noise from `stream` for batch positions row0 + r; pass = s >= 0: scoring pass s of S (stratified
  // dequantization, fixed fills, drawn for row row0 + idx[r]: t may be a block of a larger
  // table). logj (B): encoder terms per row; bad (B): rows outside the model's support (unseen
  // label, value out of bounds, unexpected missing value).
  void encode(const Table& t, const std::vector<int>& src, const int* idx, int B, uint64_t stream,
              int pass, int S, uint64_t row0, std::vector<int>& codes, std::vector<float>& u,
              std::vector<double>& logj, std::vector<char>& bad) const;
};

}  // namespace echoflow
