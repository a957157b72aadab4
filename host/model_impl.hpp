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
  std::vector<int> order;              // encoded position k -> table column (block C first)
  ef::ModelSpec spec;
  std::vector<float> params;           // the flat buffer in spec's ParamLayout
  ef::TrainResult train;
  nlohmann::json config;
  std::string device = "auto";

  mutable std::mutex mu;               // guards be (and its workspaces)
  mutable std::unique_ptr<ef::Backend> be;
  ef::Backend& backend() const;        // lazily built, params loaded; call with mu held

  void build_order();                  // from enc and conditional
};

}  // namespace echoflow
