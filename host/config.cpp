#include "config.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <set>
#include <sstream>

#include "error.hpp"

namespace ef {
namespace {
using nlohmann::json;

// "line L, column C" of a byte offset in text (1-based).
std::string line_col(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return detail::cat("line ", line, ", column ", col);
}

const char* type_name(const json& v) { return v.type_name(); }

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& where,
                const std::string& name) {
  if (!obj.is_object()) EF_THROW(name, ": ", where, " must be an object, got ", type_name(obj));
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!allowed.count(it.key())) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      EF_THROW(name, ": unknown key \"", where.empty() ? "" : where + ".", it.key(), "\" (allowed: ",
               list, ")");
    }
}

template <class V>
V get(const json& obj, const char* key, V def, const std::string& where, const std::string& name) {
  if (!obj.contains(key)) return def;
  const json& v = obj.at(key);
  try {
    if constexpr (std::is_same_v<V, int> || std::is_same_v<V, long>) {
      if (!v.is_number_integer())
        EF_THROW(name, ": ", where, ".", key, " must be an integer, got ", type_name(v));
      // Out-of-range integers must not wrap around silently (4294967297 is not 1).
      const bool fits = v.is_number_unsigned()
                            ? v.get<unsigned long long>() <= (unsigned long long)std::numeric_limits<V>::max()
                            : v.get<long long>() >= (long long)std::numeric_limits<V>::min() &&
                                  v.get<long long>() <= (long long)std::numeric_limits<V>::max();
      if (!fits) EF_THROW(name, ": ", where, ".", key, " is out of range");
    } else if constexpr (std::is_same_v<V, double>) {
      if (!v.is_number()) EF_THROW(name, ": ", where, ".", key, " must be a number, got ", type_name(v));
    } else if constexpr (std::is_same_v<V, bool>) {
      if (!v.is_boolean()) EF_THROW(name, ": ", where, ".", key, " must be true or false, got ", type_name(v));
    } else if constexpr (std::is_same_v<V, std::string>) {
      if (!v.is_string()) EF_THROW(name, ": ", where, ".", key, " must be a string, got ", type_name(v));
    }
    return v.get<V>();
  } catch (const json::exception& e) {
    EF_THROW(name, ": ", where, ".", key, ": ", e.what());
  }
}

void apply_override(json& root, const std::string& kv, const std::string& name) {
  const size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    EF_THROW("--set ", kv, ": expected KEY=VALUE with a dotted KEY (e.g. train.epochs=5)");
  const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
  json value;
  try {
    value = json::parse(val);
  } catch (const json::parse_error&) {
    value = val;  // not JSON: a plain string such as maf or cpu
  } catch (const json::exception& e) {
    EF_THROW("--set ", key, ": ", e.what());  // e.g. a number out of double range
  }
  json* node = &root;
  std::stringstream ss(key);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) EF_THROW("--set ", kv, ": empty component in key \"", key, "\"");
    if (node->is_null()) *node = json::object();  // a section the file does not have yet
    if (!node->is_object()) EF_THROW("--set ", kv, ": \"", parts[i - 1], "\" in ", name, " is not an object");
    if (i + 1 == parts.size())
      (*node)[parts[i]] = value;
    else
      node = &(*node)[parts[i]];
  }
}

}  // namespace

static void flow_spec_fields(const json& m, FlowSpec& s, const std::string& name);

json flow_spec_to_json(const FlowSpec& s) {
  json flow = to_string(s.kind);
  if (!s.mix.empty()) {
    flow = json::array();
    for (FlowKind k : layer_kinds(s)) flow.push_back(to_string(k));
  }
  json j = {{"flow", flow},                        {"layers", s.layers},
            {"hidden", s.hidden},                  {"activation", to_string(s.activation)},
            {"degrees", to_string(s.degrees)},     {"permutation", to_string(s.permutation)},
            {"masks", to_string(s.masks)},         {"actnorm", s.actnorm},
            {"clamp", s.clamp}};
  if (has_splines(s)) {  // flows with spline layers only
    j["bins"] = s.bins;
    j["tail_bound"] = s.tail_bound;
  }
  return j;
}

void flow_spec_from_json(const json& m, FlowSpec& s, const std::string& name) {
  try {
    flow_spec_fields(m, s, name);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(name, 0) == 0) throw;  // already names the file
    EF_THROW(name, ": model: ", msg);
  }
}

static void flow_spec_fields(const json& m, FlowSpec& s, const std::string& name) {
  const std::string w = "model";
  check_keys(m, {"flow", "layers", "hidden", "activation", "degrees", "permutation", "masks",
                 "actnorm", "clamp", "bins", "tail_bound"}, w, name);
  // "flow": one kind for every layer, or an array of kinds that the layers cycle through
  // (["nsf-coupling", "realnvp"]: spline and affine couplings alternate).
  std::vector<FlowKind> kinds;
  if (m.contains("flow") && m.at("flow").is_array()) {
    const json& a = m.at("flow");
    EF_CHECK(!a.empty() && a.size() <= 64, name,
             ": model.flow as an array must list 1 to 64 layer kinds (got ", a.size(), ")");
    for (const json& v : a) {
      if (!v.is_string())
        EF_THROW(name, ": model.flow entries must be strings, got ", type_name(v));
      kinds.push_back(flow_kind_from(v.get<std::string>()));
    }
  } else {
    kinds.push_back(flow_kind_from(get<std::string>(m, "flow", "maf", w, name)));
  }
  set_layer_kinds(s, kinds);
  s.layers = get<int>(m, "layers", 5, w, name);
  EF_CHECK(s.layers >= 1 && s.layers <= 1000, name, ": model.layers must be in [1, 1000] (got ", s.layers, ")");
  if (m.contains("hidden")) {
    const json& h = m.at("hidden");
    if (!h.is_array()) EF_THROW(name, ": model.hidden must be an array of widths, got ", type_name(h));
    s.hidden.clear();
    for (auto& v : h) {
      if (!v.is_number_integer()) EF_THROW(name, ": model.hidden entries must be integers, got ", type_name(v));
      const long long w64 = v.is_number_unsigned() ? (long long)std::min<unsigned long long>(v.get<unsigned long long>(), 1ULL << 40)
                                                   : v.get<long long>();
      EF_CHECK(w64 >= 1 && w64 <= 65536, name, ": model.hidden widths must be in [1, 65536] (got ", w64, ")");
      int width = int(w64);
      EF_CHECK(width >= 1 && width <= 65536, name, ": model.hidden widths must be in [1, 65536] (got ", width, ")");
      s.hidden.push_back(width);
    }
  }
  s.activation = activation_from(get<std::string>(m, "activation", "relu", w, name));
  s.degrees = degrees_from(get<std::string>(m, "degrees", "sequential", w, name));
  // Default: MAF reverses the order between layers; RealNVP's alternating masks already mix,
  // and a reversal on top would hand the same half to two consecutive layers.
  s.permutation = permutation_from(
      get<std::string>(m, "permutation", to_string(default_permutation(s)), w, name));
  s.masks = coupling_mask_from(get<std::string>(m, "masks", "alternating", w, name));
  s.actnorm = get<bool>(m, "actnorm", false, w, name);
  s.clamp = get<double>(m, "clamp", 3.0, w, name);
  EF_CHECK(s.clamp >= 0, name, ": model.clamp must be >= 0");
  // Spline flows (nsf-coupling, nsf-ar): bins per dimension and the tail bound B.
  s.bins = get<int>(m, "bins", 8, w, name);
  EF_CHECK(s.bins >= 2 && s.bins <= 64, name, ": model.bins must be in [2, 64] (got ", s.bins, ")");
  s.tail_bound = get<double>(m, "tail_bound", 3.0, w, name);
  EF_CHECK(s.tail_bound > 0 && std::isfinite(s.tail_bound), name,
           ": model.tail_bound must be > 0 (got ", s.tail_bound, ")");
}

Config parse_config(const std::string& text, const std::string& name, const std::string& base_dir,
                    const std::vector<std::string>& overrides) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    const size_t p = msg.find("syntax error");
    EF_THROW(name, ": malformed JSON at ", line_col(text, e.byte ? e.byte - 1 : 0), ": ",
             p == std::string::npos ? msg : msg.substr(p));
  } catch (const json::exception& e) {
    EF_THROW(name, ": invalid JSON: ", e.what());  // e.g. 1e309 (number overflow)
  }
  if (!root.is_object()) EF_THROW(name, ": the config must be a JSON object");
  for (auto& kv : overrides) apply_override(root, kv, name);
  check_keys(root, {"data", "model", "train", "conditional", "device", "output"}, "", name);

  Config c;
  c.source = name;
  namespace fs = std::filesystem;
  auto resolve = [&](const std::string& p) {
    fs::path q(p);
    return (q.is_absolute() || base_dir.empty() ? q : fs::path(base_dir) / q).lexically_normal().string();
  };

  if (!root.contains("data")) EF_THROW(name, ": missing \"data\" section (data.path is required)");
  const json& d = root.at("data");
  check_keys(d, {"path", "columns", "missing", "categorical_max_levels", "categorical_max_labels", "header"},
             "data", name);
  if (d.contains("header")) {
    // An array of names, or the path of a file whose first line is the comma-separated names.
    const json& h = d.at("header");
    if (h.is_array()) {
      for (auto& v : h) {
        if (!v.is_string()) EF_THROW(name, ": data.header entries must be strings");
        c.header.push_back(v.get<std::string>());
      }
    } else if (h.is_string()) {
      const std::string hp = resolve(h.get<std::string>());
      std::error_code ec;
      if (std::filesystem::exists(hp, ec) && !std::filesystem::is_regular_file(hp, ec))
        EF_THROW(name, ": data.header: ", hp, " is not a regular file");
      std::ifstream hf(hp);
      std::string line;
      if (!hf || !std::getline(hf, line)) EF_THROW(name, ": data.header: cannot read ", hp);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::stringstream ls(line);
      std::string f;
      while (std::getline(ls, f, ',')) c.header.push_back(f);
    } else {
      EF_THROW(name, ": data.header must be an array of names or a file path");
    }
    if (c.header.empty()) EF_THROW(name, ": data.header is empty");
  }
  if (d.contains("missing")) {
    const json& m = d.at("missing");
    if (!m.is_array()) EF_THROW(name, ": data.missing must be an array of strings");
    c.missing_tokens.clear();
    for (auto& v : m) {
      if (!v.is_string()) EF_THROW(name, ": data.missing entries must be strings, got ", type_name(v));
      c.missing_tokens.push_back(v.get<std::string>());
    }
  }
  c.categorical_max_levels = get<int>(d, "categorical_max_levels", 10, "data", name);
  EF_CHECK(c.categorical_max_levels >= 0, name, ": data.categorical_max_levels must be >= 0");
  c.categorical_max_labels = get<int>(d, "categorical_max_labels", 1000, "data", name);
  EF_CHECK(c.categorical_max_labels >= 0, name, ": data.categorical_max_labels must be >= 0");
  if (!d.contains("path")) EF_THROW(name, ": missing data.path");
  c.data_path = resolve(get<std::string>(d, "path", "", "data", name));
  if (d.contains("columns")) {
    const json& cols = d.at("columns");
    if (!cols.is_object()) EF_THROW(name, ": data.columns must be an object {\"name\": \"type\"}");
    for (auto it = cols.begin(); it != cols.end(); ++it) {
      const std::string w = "data.columns." + it.key();
      ColumnOptions o;
      const json& v = it.value();
      std::string type;
      if (v.is_string()) {
        type = v.get<std::string>();
      } else if (v.is_object()) {
        check_keys(v, {"type", "min", "max", "encoder"}, w, name);
        type = get<std::string>(v, "type", "", w, name);
        if (v.contains("min")) { o.has_min = true; o.min = get<double>(v, "min", 0.0, w, name); }
        if (v.contains("max")) { o.has_max = true; o.max = get<double>(v, "max", 0.0, w, name); }
        o.encoder = get<std::string>(v, "encoder", "auto", w, name);
        if (o.encoder != "auto" && o.encoder != "standardize" && o.encoder != "quantile")
          EF_THROW(name, ": ", w, ".encoder must be \"auto\", \"standardize\" or \"quantile\"");
        if (o.has_max && !o.has_min) EF_THROW(name, ": ", w, ": a max needs a min too");
        if (o.has_min && o.has_max && !(o.max > o.min)) EF_THROW(name, ": ", w, ": max must be greater than min");
      } else {
        EF_THROW(name, ": ", w, " must be a type string or an object {\"type\", \"min\", \"max\", \"encoder\"}, got ",
                 type_name(v));
      }
      if (!type.empty()) {
        try {
          o.type = column_type_from(type);
        } catch (const Error& e) {
          EF_THROW(name, ": ", w, ": ", e.what());
        }
        o.has_type = true;
        c.column_types[it.key()] = o.type;
        if (o.type == ColumnType::Categorical && (o.has_min || o.has_max || o.encoder != "auto"))
          EF_THROW(name, ": ", w, ": bounds and encoders apply to numeric columns only");
      }
      c.column_options[it.key()] = o;
    }
  }

  flow_spec_from_json(root.value("model", json::object()), c.flow, name);

  const json t = root.value("train", json::object());
  const std::string w = "train";
  check_keys(t, {"epochs", "batch_size", "learning_rate", "seed", "validation_fraction", "patience",
                 "weight_decay", "threads", "loss_every", "max_resident_mb"}, w, name);
  c.train.epochs = get<int>(t, "epochs", 50, w, name);
  EF_CHECK(c.train.epochs >= 1, name, ": train.epochs must be positive (got ", c.train.epochs, ")");
  c.train.batch_size = get<int>(t, "batch_size", 256, w, name);
  EF_CHECK(c.train.batch_size >= 1, name, ": train.batch_size must be positive (got ", c.train.batch_size, ")");
  c.train.adam.lr = get<double>(t, "learning_rate", 1e-3, w, name);
  EF_CHECK(c.train.adam.lr > 0 && c.train.adam.lr < 10, name, ": train.learning_rate must be in (0, 10)");
  c.train.adam.weight_decay = get<double>(t, "weight_decay", 0.0, w, name);
  EF_CHECK(c.train.adam.weight_decay >= 0, name, ": train.weight_decay must be >= 0");
  const long seed = get<long>(t, "seed", 0, w, name);
  EF_CHECK(seed >= 0, name, ": train.seed must be >= 0");
  c.train.seed = uint64_t(seed);
  c.flow.seed = uint64_t(seed);
  c.train.validation_fraction = get<double>(t, "validation_fraction", 0.1, w, name);
  EF_CHECK(c.train.validation_fraction >= 0 && c.train.validation_fraction < 1, name,
           ": train.validation_fraction must be in [0, 1)");
  c.train.patience = get<int>(t, "patience", 10, w, name);
  EF_CHECK(c.train.patience >= 0, name, ": train.patience must be >= 0");
  c.train.loss_every = get<int>(t, "loss_every", 16, w, name);
  EF_CHECK(c.train.loss_every >= 1, name, ": train.loss_every must be positive");
  if (t.contains("max_resident_mb")) {  // absent: half the device's free memory
    const double mb = get<double>(t, "max_resident_mb", 0.0, w, name);
    EF_CHECK(mb >= 0 && mb < 1e9, name, ": train.max_resident_mb must be in [0, 1e9)");
    c.train.max_resident_bytes = int64_t(mb * 1048576.0);
  }
  c.threads = get<int>(t, "threads", 0, w, name);
  EF_CHECK(c.threads >= 0, name, ": train.threads must be >= 0");

  if (root.contains("conditional")) {
    const json& cond = root.at("conditional");
    if (!cond.is_array()) EF_THROW(name, ": conditional must be an array of column names");
    for (auto& v : cond) {
      if (!v.is_string()) EF_THROW(name, ": conditional entries must be strings, got ", type_name(v));
      c.conditional.push_back(v.get<std::string>());
    }
  }
  c.device = get<std::string>(root, "device", "auto", "", name);
  if (c.device != "auto" && c.device != "cpu" && c.device != "cuda")
    EF_THROW(name, ": device must be \"auto\", \"cpu\" or \"cuda\" (got \"", c.device, "\")");
  const json o = root.value("output", json::object());
  check_keys(o, {"model"}, "output", name);
  c.output_model = resolve(get<std::string>(o, "model", "model.efm", "output", name));
  try {
    (void)root.dump();  // the config is stored in every model file: it must be valid UTF-8
  } catch (const json::exception&) {
    EF_THROW(name, ": the config (with --set values) is not valid UTF-8");
  }
  c.effective = root;
  return c;
}

echoflow::FitOptions fit_options(const Config& c) {
  echoflow::FitOptions opt;
  opt.flow = c.flow;
  opt.train = c.train;
  opt.columns = c.column_options;
  opt.missing_tokens = c.missing_tokens;
  opt.conditional = c.conditional;
  opt.device = c.device;
  opt.threads = c.threads;
  opt.config = c.effective;
  return opt;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  {
    std::error_code ec;  // a FIFO or /dev/zero would block or never end
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
      EF_THROW(path, ": is not a regular file (a pipe, device, socket or folder); the config must be a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) EF_THROW(path, ": cannot open the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return parse_config(ss.str(), path, dir, overrides);
}

}  // namespace ef
