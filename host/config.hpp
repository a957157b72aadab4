// The eftrain JSON config (comments allowed): parsed with nlohmann_json, every key checked against
// the key table in config_keys.hpp (unknown keys, wrong types and out-of-range values are errors
// that name the file and the key), defaults filled from it,
// relative paths resolved against the config's folder. `--set a.b.c=VALUE` overrides by dotted
// path before validation (VALUE is parsed as JSON when it parses, else taken as a string).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>
#include <nlohmann/json.hpp>

#include "encoders.hpp"
#include "flow_spec.hpp"
#include "trainer.hpp"

namespace ef {

struct Config {
  std::string source;                              // the config file, for messages
  std::string data_path;                           // resolved (sharded: for messages)
  // data.path as a list or glob (docs/SCALE.md): the shard files, resolved, in shard order;
  // shard i is read by rank i mod R.
  bool sharded = false;
  std::vector<std::string> data_shards;
  std::map<std::string, ColumnType> column_types;  // declared; the rest are inferred
  std::map<std::string, ColumnOptions> column_options;  // bounds, encoder
  std::vector<std::string> missing_tokens{"", "NA", "?", "nan"};
  int categorical_max_levels = 10;
  Support support = Support::Observed;             // data.support
  double support_margin = 0.1;                    // data.support_margin
  bool split_modes = true;                        // data.split_modes
  int categorical_max_labels = 1000;  // wider categorical columns are dropped with a warning
  std::vector<std::string> header;  // data.header: names for a file without a header row
  FlowSpec flow;                                   // dim/context filled at fit time
  TrainOptions train;
  int threads = 0;                                 // 0 = library default
  std::vector<std::string> conditional;
  std::vector<FlowKind> choose_flows;  // model.choose (echoflow::FitOptions::choose_flows)
  bool choose_encoders = false;
  std::string categorical_order = "dag";  // model.categorical_order
  std::string categorical_model = "auto";  // model.categorical_model
  std::string device = "auto";
  std::string output_model;                        // resolved
  nlohmann::json effective;                        // the config after defaults and --set
};

// What the config is for: eftrain (a file: data.path required, output.model written) or a table
// already in memory (the Python package, the C API: data.path, data.header and output rejected).
enum class ConfigFor { File, Table };

Config load_config(const std::string& path, const std::vector<std::string>& overrides);
// text: the JSON; name: for messages; base_dir: where relative paths resolve.
Config parse_config(const std::string& text, const std::string& name, const std::string& base_dir,
                    const std::vector<std::string>& overrides);

// The parser itself, for a config already parsed as JSON: every key checked against the key table
// (config_keys.hpp), defaults filled. The one front door of eftrain, Python and the C API.
Config config_from_json(nlohmann::json root, const std::string& name, const std::string& base_dir,
                        const std::vector<std::string>& overrides, ConfigFor what);

// The fit options a config asks for (flow, training, columns, conditional, device, threads,
// missing tokens, the effective config for provenance); on_epoch is left to the caller.
echoflow::FitOptions fit_options(const Config& c);

// Applies FlowSpec fields from a "model" JSON object (shared with the model file reader).
void flow_spec_from_json(const nlohmann::json& model, FlowSpec& spec, const std::string& where);
nlohmann::json flow_spec_to_json(const FlowSpec& spec);

}  // namespace ef
