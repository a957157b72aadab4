#include "config_keys.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "error.hpp"
#include "flow_kinds.hpp"
#include "spline_math.hpp"

namespace ef {

Range any_value() { return {}; }
Range at_least(double lo) { return {lo, 1e308, false, false}; }
Range above(double lo) { return {lo, 1e308, true, false}; }
Range closed(double lo, double hi) { return {lo, hi, false, false}; }
Range half_open(double lo, double hi) { return {lo, hi, false, true}; }
Range exclusive(double lo, double hi) { return {lo, hi, true, true}; }

namespace {
std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.15g", v);
  return b;
}
constexpr double kInf = 1e308;
}  // namespace

std::string Range::text() const {
  const bool has_lo = lo > -kInf, has_hi = hi < kInf;
  if (!has_lo && !has_hi) return "";
  if (!has_hi) return (lo_open ? "> " : ">= ") + num(lo);
  if (!has_lo) return (hi_open ? "< " : "<= ") + num(hi);
  return (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
}

std::string ConfigKey::section() const {
  const size_t dot = path.find('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}
std::string ConfigKey::leaf() const { return path.substr(path.rfind('.') + 1); }
std::vector<std::string> ConfigKey::choice_list() const {
  std::vector<std::string> out;
  std::stringstream ss(choices);
  std::string c;
  while (std::getline(ss, c, '|')) out.push_back(c);
  return out;
}

const char* to_string(KeyType t) {
  switch (t) {
    case KeyType::Int: return "integer";
    case KeyType::Number: return "number";
    case KeyType::Bool: return "true or false";
    case KeyType::String: return "string";
    case KeyType::Strings: return "array of strings";
    case KeyType::Ints: return "array of integers";
    case KeyType::StringOrList: return "string or array of strings";
    case KeyType::Object: return "object";
    case KeyType::IntOrAuto: return "integer or \"auto\"";
    case KeyType::NumberOrAuto: return "number or \"auto\"";
  }
  return "?";
}

// The table. One row per key; the parser reads every value through its row (type, range,
// choices, default), so a range is checked in one place.
namespace {
// "maf|realnvp|..." from the flow-kind registry (engine/flow_kinds.hpp), so a new kind is a
// valid model.flow without touching this table.
std::string flow_choices() {
  std::string s;
  for (const std::string& n : flow_kind_names()) s += (s.empty() ? "" : "|") + n;
  return s;
}
}  // namespace

const std::vector<ConfigKey>& config_keys() {
  using T = KeyType;
  static const std::vector<ConfigKey> keys = {
      // data: the table to learn from
      {"data.path", T::StringOrList, "", any_value(), "",
       "the CSV (or .csv.gz) to learn from, relative to the config's folder (required for eftrain); a list or a "
       "glob (*, ?, [...]) of shards: over R ranks shard i (in the list's order, a glob's sorted) is read by rank i mod R "
       "(docs/SCALE.md)"},
      {"data.header", T::StringOrList, "", any_value(), "",
       "column names for a file without a header row: an array, or a file whose first line lists them"},
      {"data.missing", T::Strings, R"(["", "NA", "?", "nan"])", any_value(), "",
       "cell texts read as missing values"},
      {"data.categorical_max_levels", T::Int, "10", closed(0, 1e9), "",
       "an undeclared numeric column with at most this many distinct values (and at most half as "
       "many as rows) is categorical; 0 turns this off"},
      {"data.categorical_max_labels", T::Int, "1000", closed(0, 1e9), "",
       "a categorical column with more distinct labels (an ID-like column) is dropped with a "
       "warning, or refused when the config names it; 0 keeps every column"},
      {"data.support", T::String, R"("observed")", any_value(), "observed|unbounded",
       "numeric columns without declared bounds: observed = samples stay within the observed "
       "[min, max] widened by support_margin (exact densities; rows outside score -inf); "
       "unbounded = the whole real line"},
      {"data.support_margin", T::Number, "0.1", closed(0, 100), "",
       "widening of the observed range on each side, as a share of the range (0 = exactly it)"},
      {"data.split_modes", T::Bool, "true", any_value(), "",
       "a numeric column on encoder auto whose quantile map has deep density valleys (and at "
       "least 2,000 values) is split there into modes: the mode is a state the categorical model "
       "learns, the value's score within its mode goes to the flow (exact densities); false = one "
       "mode per column"},
      {"data.columns", T::Object, "{}", any_value(), "",
       "per-column settings by name: a type string, or an object with the fields below"},
      {"data.columns.*.type", T::String, "", any_value(), "continuous|integer|categorical",
       "the column's type (otherwise inferred)"},
      {"data.columns.*.min", T::Number, "", any_value(), "", "lower bound of a numeric column"},
      {"data.columns.*.max", T::Number, "", any_value(), "",
       "upper bound of a numeric column (needs min)"},
      {"data.columns.*.encoder", T::String, R"("auto")", any_value(), "auto|standardize|quantile",
       "how a numeric column is mapped to the flow's space"},
      {"data.columns.*.support", T::String, "", any_value(), "observed|unbounded",
       "this column's data.support (otherwise the data section's)"},
      // model: the flow
      {"model.flow", T::StringOrList, R"("nsf-ar")", any_value(), flow_choices(),
       "layer kind, or an array of kinds the layers cycle through"},
      {"model.layers", T::Int, "5", closed(1, 1000), "", "number of flow layers"},
      {"model.hidden", T::Ints, "[128, 128]", closed(1, 65536), "",
       "widths of each layer's conditioner network"},
      {"model.activation", T::String, R"("relu")", any_value(), "relu|tanh",
       "the conditioners' activation"},
      {"model.degrees", T::String, R"("sequential")", any_value(), "sequential|random",
       "MADE hidden-unit degrees of autoregressive layers"},
      {"model.permutation", T::String, "", any_value(), "reverse|random|none",
       "order change between layers (default: reverse for maf and nsf-ar, none for couplings)"},
      {"model.masks", T::String, R"("alternating")", any_value(), "alternating|random",
       "which half each coupling layer transforms"},
      {"model.actnorm", T::Bool, "false", any_value(), "", "an activation-normalization step per layer"},
      {"model.clamp", T::Number, "3.0", at_least(0), "",
       "soft clamp of affine log-scales (0 = none)"},
      {"model.bins", T::IntOrAuto, R"("auto")", closed(2, math::kSplineMaxBins), "",
       "spline bins per dimension (nsf-ar, nsf-coupling; auto: 16 when the flow transforms at most 4 "
       "dimensions and the table has at least 10,000 rows, else 8)"},
      {"model.tail_bound", T::NumberOrAuto, R"("auto")", above(0), "",
       "splines act on [-B, B] and are the identity outside (nsf-ar, nsf-coupling); auto: 5 when "
       "a numeric column is split into modes (data.split_modes), else 3"},
      {"model.choose", T::String, R"("none")", any_value(), "auto|none",
       "auto: brief fits of nsf-ar and nsf-coupling (unless model.flow or model.permutation is "
       "given), each with the numeric columns on encoder auto as the default rule maps them and "
       "standardized; the best validation NLL is fitted in full (training summary: the choice)"},
      {"model.categorical_order", T::String, R"("dag")", any_value(), "table|dag|dependence",
       "the order in which the categorical model visits the unconditioned categorical columns: "
       "table = the table's order; dag = a topological order of a Bayesian network learned from "
       "the training rows (greedy BIC search, at most 3 parents); dependence = each after the "
       "column it shares most information with (a Chow-Liu tree)"},
      {"model.categorical_model", T::String, R"("auto")", any_value(), "auto|made|table",
       "the categorical model of the unconditioned columns: made = the masked autoregressive "
       "network; table = a Bayesian network on the learned DAG with count tables (Dirichlet prior "
       "chosen on the validation rows; only without conditional columns, CPU only); auto = on a "
       "categorical-only table the MADE is trained, then whichever of the two scores the "
       "validation rows better is kept "
       "(training summary: the choice)"},
      // train: the optimizer and stopping
      {"train.epochs", T::IntOrAuto, R"("auto")", closed(1, 1e9), "",
       "passes over the training rows at most (auto: enough for 16000 Adam steps, at least 50; a cap "
       "that validation and the learning-rate drops usually end a run before)"},
      {"train.batch_size", T::IntOrAuto, R"("auto")", closed(1, 1e9), "",
       "rows per Adam step (auto: training rows / 32, clamped to [32, 512])"},
      {"train.learning_rate", T::Number, "0.001", exclusive(0, 10), "", "Adam's step size"},
      {"train.weight_decay", T::NumberOrAuto, "0.0", at_least(0), "",
       "AdamW decoupled weight decay (auto: 0.5 up to 1,000 training rows, falling linearly to 0 "
       "at 5,000, on the categorical model only)"},
      {"train.weight_decay_on", T::String, R"("auto")", any_value(), "auto|all|flow|categorical",
       "the parameters train.weight_decay acts on: all, the flows' only (the categorical model "
       "takes plain Adam steps), or the categorical model's only (auto: categorical when "
       "train.weight_decay is auto, else all)"},
      {"train.seed", T::Int, "0", closed(0, 9e18), "",
       "seed of masks, weights, the validation split and shuffling"},
      {"train.validation_fraction", T::NumberOrAuto, R"("auto")", half_open(0, 1), "",
       "rows held out for early stopping (auto: 10%, at least 100 rows, at most 20%)"},
      {"train.patience", T::IntOrAuto, R"("auto")", closed(0, 1e9), "",
       "epochs without a better validation loss in any module before stopping (0 = never stop "
       "early; auto: 10 epochs or 1000 steps, whichever is longer)"},
      {"train.lr_drops", T::IntOrAuto, R"("auto")", closed(0, 100), "",
       "times a stall divides the learning rate by 10 and goes on from the best epoch before "
       "training stops (auto: 2)"},
      {"train.ema", T::NumberOrAuto, R"("auto")", half_open(0, 1), "",
       "weight of the running average of the parameters kept after each epoch (0 = none): "
       "validation, the best epochs and the model use the average (auto: 0)"},
      {"train.threads", T::Int, "0", closed(0, 4096), "", "CPU threads (0 = all cores)"},
      {"train.loss_every", T::Int, "16", closed(1, 1e9), "",
       "device training: steps between reading the loss back"},
      {"train.max_resident_mb", T::Number, "", half_open(0, 1e9), "",
       "device training: encoded rows kept on the device, in MiB (default: half the free memory)"},
      // the rest
      {"conditional", T::Strings, "[]", any_value(), "",
       "columns that `sample --given` may fix"},
      {"device", T::String, R"("auto")", any_value(), "auto|cpu|cuda",
       "where to train (auto: a usable GPU, else the CPU)"},
      {"output.model", T::String, R"("model.efm")", any_value(), "",
       "the model file to write, relative to the config's folder"},
  };
  return keys;
}

const ConfigKey& config_key(const std::string& path) {
  static const std::map<std::string, const ConfigKey*> index = [] {
    std::map<std::string, const ConfigKey*> m;
    for (const ConfigKey& k : config_keys()) m[k.path] = &k;
    return m;
  }();
  auto it = index.find(path);
  EF_CHECK(it != index.end(), "config key \"", path, "\" is not in the key table");
  return *it->second;
}

nlohmann::json config_default(const std::string& path) {
  const ConfigKey& k = config_key(path);
  return k.def.empty() ? nlohmann::json() : nlohmann::json::parse(k.def);
}

namespace {

// The line a key's comment shows: meaning, then type / range / choices.
std::string describe(const ConfigKey& k) {
  std::string s = k.meaning + " [" + to_string(k.type);
  if (!k.choices.empty()) {
    std::string c;
    for (auto& v : k.choice_list()) c += (c.empty() ? "" : " | ") + v;
    s += ": " + c;
  }
  const std::string r = k.range.text();
  if (!r.empty() && (k.type == KeyType::Int || k.type == KeyType::Number || k.type == KeyType::Ints ||
                     k.type == KeyType::IntOrAuto || k.type == KeyType::NumberOrAuto))
    s += (k.type == KeyType::Ints ? ", each " : ", ") + r;
  return s + "]";
}

// A placeholder value for a key that has no fixed default (shown commented out).
std::string example(const ConfigKey& k) {
  switch (k.type) {
    case KeyType::Int: case KeyType::IntOrAuto: return num(k.range.lo > -kInf ? k.range.lo : 0);
    case KeyType::Number: case KeyType::NumberOrAuto: return num(k.range.lo > -kInf ? k.range.lo + 1 : 0);
    case KeyType::Bool: return "false";
    case KeyType::Strings: return "[]";
    case KeyType::Ints: return "[]";
    case KeyType::Object: return "{}";
    default: break;
  }
  const auto c = k.choice_list();
  return "\"" + (c.empty() ? std::string("...") : c[0]) + "\"";
}

}  // namespace

std::string config_template() {
  std::ostringstream o;
  o << "// EchoFlow config: every key, its default and meaning (`eftrain config`; generated from\n"
       "// the key table the parser validates against). JSON with // comments. A key left out\n"
       "// takes the default shown; keys shown commented out have no fixed default.\n{\n";
  // Sections in table order; top-level keys are their own "section".
  std::vector<std::string> order;
  std::map<std::string, std::vector<const ConfigKey*>> by;
  for (const ConfigKey& k : config_keys()) {
    const std::string s = k.section().empty() ? k.path : k.section();
    if (!by.count(s)) order.push_back(s);
    by[s].push_back(&k);
  }
  for (size_t si = 0; si < order.size(); ++si) {
    const std::string& s = order[si];
    const bool last_section = si + 1 == order.size();
    const auto& keys = by[s];
    if (keys.size() == 1 && keys[0]->path == s) {  // a top-level key
      const ConfigKey& k = *keys[0];
      o << "  // " << describe(k) << "\n  \"" << k.path << "\": " << k.def
        << (last_section ? "" : ",") << "\n";
      continue;
    }
    o << "  \"" << s << "\": {\n";
    // Commas: after every active entry except the last active one.
    size_t last_active = 0;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i]->path.find(".*.") == std::string::npos && (!keys[i]->def.empty() || keys[i]->path == "data.path"))
        last_active = i;
    for (size_t i = 0; i < keys.size(); ++i) {
      const ConfigKey& k = *keys[i];
      const std::string rest = k.path.substr(s.size() + 1);
      if (rest.find(".*.") != std::string::npos) {  // a field of every entry of an object
        o << "    //   \"<name>\": {\"" << k.leaf() << "\": ...}  " << describe(k) << "\n";
        continue;
      }
      o << "    // " << describe(k) << "\n";
      const bool active = !k.def.empty() || k.path == "data.path";
      const std::string value = k.path == "data.path" ? "\"data.csv\"" : active ? k.def : example(k);
      o << "    " << (active ? "" : "// ") << "\"" << rest << "\": " << value
        << (active && i != last_active ? "," : "") << "\n";
    }
    o << "  }" << (last_section ? "" : ",") << "\n";
  }
  o << "}\n";
  return o.str();
}

}  // namespace ef
