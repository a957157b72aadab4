#include "config.hpp"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <fstream>
#include <set>
#include <sstream>

#include "config_keys.hpp"
#include "flow_size.hpp"
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

// A key's value in `obj` (the object that holds it), checked against its row of the key table
// (type, range, choices), or the row's default when absent (null when it has none). `row`: the
// table path ("data.columns.*.min"); `shown`: the path messages name ("data.columns.x.min").
json checked(const json& obj, const std::string& row, const std::string& shown, const std::string& name) {
  const ConfigKey& k = config_key(row);
  const std::string leaf = k.leaf();
  if (!obj.contains(leaf)) return config_default(row);
  const json& v = obj.at(leaf);
  const size_t dot = shown.rfind('.');
  const std::string where = dot == std::string::npos ? std::string() : shown.substr(0, dot) + ": ";
  auto choice = [&](const json& s) {
    const auto choices = k.choice_list();
    if (choices.empty()) return;
    for (auto& c : choices)
      if (s.get<std::string>() == c) return;
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
      list += (i == 0 ? "\"" : i + 1 == choices.size() ? " or \"" : ", \"") + choices[i] + "\"";
    EF_THROW(name, ": ", where, "unknown ", leaf, " \"", s.get<std::string>(), "\" (expected ", list, ")");
  };
  auto in_range = [&](const json& x, const char* what) {
    const std::string r = k.range.text();
    if (!k.range.contains(x.get<double>()))
      EF_THROW(name, ": ", shown, what, " must be ", r[0] == '[' || r[0] == '(' ? "in " : "", r,
               " (got ", x.dump(), ")");
  };
  auto integer = [&](const json& x, const char* what) {
    if (!x.is_number_integer())
      EF_THROW(name, ": ", shown, what, " must be ", what[0] ? "integers" : "an integer", ", got ", type_name(x));
    // Out-of-range integers must not wrap around silently (4294967297 is not 1).
    if (x.is_number_unsigned() && x.get<unsigned long long>() > 9000000000000000000ULL)
      EF_THROW(name, ": ", shown, " is out of range");
    in_range(x, what);
  };
  if ((k.type == KeyType::IntOrAuto || k.type == KeyType::NumberOrAuto) && v.is_string()) {
    if (v.get<std::string>() != "auto")
      EF_THROW(name, ": ", shown, " must be ", to_string(k.type), " (got \"", v.get<std::string>(), "\")");
    return v;
  }
  switch (k.type) {
    case KeyType::Int: case KeyType::IntOrAuto: integer(v, ""); break;
    case KeyType::Number: case KeyType::NumberOrAuto:
      if (!v.is_number()) EF_THROW(name, ": ", shown, " must be a number, got ", type_name(v));
      in_range(v, "");
      break;
    case KeyType::Bool:
      if (!v.is_boolean()) EF_THROW(name, ": ", shown, " must be true or false, got ", type_name(v));
      break;
    case KeyType::String:
      if (!v.is_string()) EF_THROW(name, ": ", shown, " must be a string, got ", type_name(v));
      choice(v);
      break;
    case KeyType::Strings:
      if (!v.is_array()) EF_THROW(name, ": ", shown, " must be an array of strings, got ", type_name(v));
      for (auto& e : v) {
        if (!e.is_string()) EF_THROW(name, ": ", shown, " entries must be strings, got ", type_name(e));
        choice(e);
      }
      break;
    case KeyType::Ints:
      if (!v.is_array()) EF_THROW(name, ": ", shown, " must be an array of integers, got ", type_name(v));
      for (auto& e : v) integer(e, " entries");
      break;
    case KeyType::StringOrList:
      if (v.is_array()) {
        // data.path's shards are not capped; a flow list (model.flow) is.
        EF_CHECK(!v.empty() && (v.size() <= 64 || row == "data.path"), name, ": ", shown,
                 " as an array must list 1 to 64 entries (got ", v.size(), ")");
        for (auto& e : v) {
          if (!e.is_string()) EF_THROW(name, ": ", shown, " entries must be strings, got ", type_name(e));
          choice(e);
        }
      } else if (v.is_string()) {
        choice(v);
      } else {
        EF_THROW(name, ": ", shown, " must be a string or an array of strings, got ", type_name(v));
      }
      break;
    case KeyType::Object:
      if (!v.is_object()) EF_THROW(name, ": ", shown, " must be an object, got ", type_name(v));
      break;
  }
  return v;
}

// The keys a section may hold: its rows in the key table.
std::set<std::string> section_keys(const std::string& section) {
  std::set<std::string> out;
  const std::string prefix = section.empty() ? "" : section + ".";
  for (const ConfigKey& k : config_keys()) {
    if (k.path.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = k.path.substr(prefix.size());
    out.insert(rest.substr(0, rest.find('.')));
  }
  return out;
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
  check_keys(m, section_keys("model"), "model", name);
  auto get = [&](const char* key) { return checked(m, std::string("model.") + key, std::string("model.") + key, name); };
  // "flow": one kind for every layer, or an array of kinds that the layers cycle through
  // (["nsf-coupling", "realnvp"]: spline and affine couplings alternate).
  std::vector<FlowKind> kinds;
  const json flow = get("flow");
  if (flow.is_array())
    for (const json& v : flow) kinds.push_back(flow_kind_from(v.get<std::string>()));
  else
    kinds.push_back(flow_kind_from(flow.get<std::string>()));
  set_layer_kinds(s, kinds);
  s.layers = get("layers").get<int>();
  s.hidden = get("hidden").get<std::vector<int>>();
  s.activation = activation_from(get("activation").get<std::string>());
  s.degrees = degrees_from(get("degrees").get<std::string>());
  // Default: MAF reverses the order between layers; RealNVP's alternating masks already mix,
  // and a reversal on top would hand the same half to two consecutive layers.
  const json perm = get("permutation");
  s.permutation = perm.is_null() ? default_permutation(s) : permutation_from(perm.get<std::string>());
  s.masks = coupling_mask_from(get("masks").get<std::string>());
  s.actnorm = get("actnorm").get<bool>();
  s.clamp = get("clamp").get<double>();
  const json bins = get("bins");  // "auto": resolved at fit from the table (host/flow_size.hpp)
  s.bins = bins.is_string() ? kAutoBins : bins.get<int>();
  const json tail = get("tail_bound");  // "auto": resolved at fit (host/flow_size.hpp)
  s.tail_bound = tail.is_string() ? kAutoTailBound : tail.get<double>();
}

namespace {

// data.path: one file (every rank reads it), or shards: a list (kept in its order, each entry a
// file or a glob) or a glob (its matches sorted by byte order). docs/SCALE.md.
void read_data_path(const json& p, Config& c, const std::function<std::string(const std::string&)>& resolve,
                    const std::string& name) {
  auto is_glob = [](const std::string& s) { return s.find_first_of("*?[") != std::string::npos; };
  auto expand = [&](const std::string& pattern) {
    ::glob_t g{};
    const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
    std::vector<std::string> out;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
    ::globfree(&g);
    EF_CHECK(rc == 0 || rc == GLOB_NOMATCH, name, ": data.path: cannot list the files matching ", pattern);
    EF_CHECK(!out.empty(), name, ": data.path: no file matches ", pattern);
    std::sort(out.begin(), out.end());  // byte order, whatever the locale
    return out;
  };
  if (p.is_string() && !is_glob(p.get<std::string>())) {
    c.data_path = resolve(p.get<std::string>());
    return;
  }
  c.sharded = true;
  for (const std::string& e : p.is_string() ? std::vector<std::string>{p.get<std::string>()}
                                            : p.get<std::vector<std::string>>()) {
    const std::string r = resolve(e);
    if (!is_glob(e)) {
      c.data_shards.push_back(r);
      continue;
    }
    for (std::string& f : expand(r)) c.data_shards.push_back(std::move(f));
  }
  c.data_path = p.is_string() ? resolve(p.get<std::string>()) : c.data_shards.front();
  if (!p.is_string() && c.data_shards.size() > 1)
    c.data_path += " and " + std::to_string(c.data_shards.size() - 1) + " more shards";
}

void read_header(const json& d, Config& c, const std::function<std::string(const std::string&)>& resolve,
                 const std::string& name) {
  const json h = checked(d, "data.header", "data.header", name);
  if (h.is_null()) return;
  if (h.is_array()) {
    c.header = h.get<std::vector<std::string>>();
  } else {  // a file whose first line is the comma-separated names
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
  }
  if (c.header.empty()) EF_THROW(name, ": data.header is empty");
}

void read_columns(const json& d, Config& c, const std::string& name) {
  const json cols = checked(d, "data.columns", "data.columns", name);
  for (auto it = cols.begin(); it != cols.end(); ++it) {
    const std::string w = "data.columns." + it.key();
    ColumnOptions o;
    json v = it.value();
    if (v.is_string()) v = json{{"type", v}};  // "x": "integer" is short for {"type": "integer"}
    if (!v.is_object())
      EF_THROW(name, ": ", w, " must be a type string or an object {\"type\", \"min\", \"max\", \"encoder\", \"support\"}, got ",
               type_name(v));
    check_keys(v, section_keys("data.columns.*"), w, name);
    const json type = checked(v, "data.columns.*.type", w + ".type", name);
    const json mn = checked(v, "data.columns.*.min", w + ".min", name);
    const json mx = checked(v, "data.columns.*.max", w + ".max", name);
    o.encoder = checked(v, "data.columns.*.encoder", w + ".encoder", name).get<std::string>();
    const json sp = checked(v, "data.columns.*.support", w + ".support", name);
    if (!sp.is_null()) { o.has_support = true; o.support = support_from(sp.get<std::string>()); }
    if (!mn.is_null()) { o.has_min = true; o.min = mn.get<double>(); }
    if (!mx.is_null()) { o.has_max = true; o.max = mx.get<double>(); }
    if (o.has_max && !o.has_min) EF_THROW(name, ": ", w, ": a max needs a min too");
    if (o.has_min && o.has_max && !(o.max > o.min)) EF_THROW(name, ": ", w, ": max must be greater than min");
    if (!type.is_null()) {
      o.type = column_type_from(type.get<std::string>());
      o.has_type = true;
      c.column_types[it.key()] = o.type;
      if (o.type == ColumnType::Categorical && (o.has_min || o.has_max || o.encoder != "auto" || o.has_support))
        EF_THROW(name, ": ", w, ": bounds, encoders and support apply to numeric columns only");
    }
    c.column_options[it.key()] = o;
  }
}

}  // namespace

Config config_from_json(json root, const std::string& name, const std::string& base_dir,
                        const std::vector<std::string>& overrides, ConfigFor what) {
  if (!root.is_object()) EF_THROW(name, ": the config must be a JSON object");
  for (auto& kv : overrides) apply_override(root, kv, name);
  check_keys(root, section_keys(""), "", name);

  Config c;
  c.source = name;
  namespace fs = std::filesystem;
  auto resolve = [&](const std::string& p) {
    fs::path q(p);
    return (q.is_absolute() || base_dir.empty() ? q : fs::path(base_dir) / q).lexically_normal().string();
  };
  // A table in memory (Python, the C API) has its own columns and is saved by the caller.
  if (what == ConfigFor::Table) {
    const json d = root.value("data", json::object());
    for (const char* k : {"path", "header"})
      if (d.is_object() && d.contains(k))
        EF_THROW(name, ": data.", k, " does not apply to a table in memory");
    if (root.contains("output"))
      EF_THROW(name, ": output does not apply to a table in memory (save the model instead)");
  } else if (!root.contains("data")) {
    EF_THROW(name, ": missing \"data\" section (data.path is required)");
  }

  const json d = root.value("data", json::object());
  check_keys(d, section_keys("data"), "data", name);
  read_header(d, c, resolve, name);
  c.missing_tokens = checked(d, "data.missing", "data.missing", name).get<std::vector<std::string>>();
  c.categorical_max_levels = checked(d, "data.categorical_max_levels", "data.categorical_max_levels", name).get<int>();
  c.support = support_from(checked(d, "data.support", "data.support", name).get<std::string>());
  c.support_margin = checked(d, "data.support_margin", "data.support_margin", name).get<double>();
  c.split_modes = checked(d, "data.split_modes", "data.split_modes", name).get<bool>();
  c.categorical_max_labels = checked(d, "data.categorical_max_labels", "data.categorical_max_labels", name).get<int>();
  if (what == ConfigFor::File) {
    if (!d.contains("path")) EF_THROW(name, ": missing data.path");
    read_data_path(checked(d, "data.path", "data.path", name), c, resolve, name);
  }
  read_columns(d, c, name);

  flow_spec_from_json(root.value("model", json::object()), c.flow, name);
  c.categorical_order = checked(root.value("model", json::object()), "model.categorical_order",
                                "model.categorical_order", name).get<std::string>();
  c.categorical_model = checked(root.value("model", json::object()), "model.categorical_model",
                                "model.categorical_model", name).get<std::string>();
  {
    const json m = root.value("model", json::object());
    const std::string choose = checked(m, "model.choose", "model.choose", name).get<std::string>();
    if (choose != "auto" && choose != "none")
      EF_THROW(name, ": model.choose must be \"auto\" or \"none\" (got \"", choose, "\")");
    // A flow or permutation the config names is pinned; encoders named per column are too.
    if (choose == "auto" && !m.contains("flow") && !m.contains("permutation"))
      c.choose_flows = {FlowKind::NSFAR, FlowKind::NSFCoupling};
    c.choose_encoders = choose == "auto";
  }

  const json t = root.value("train", json::object());
  check_keys(t, section_keys("train"), "train", name);
  auto train = [&](const char* key) { return checked(t, std::string("train.") + key, std::string("train.") + key, name); };
  // epochs, batch_size, patience, validation_fraction: "auto" (the default) = the rule of the
  // table's size (ef::resolve_train_options, ef::validation_split); a number = exactly that.
  auto int_or_auto = [&](const char* key, int auto_value) {
    const json v = train(key);
    return v.is_string() ? auto_value : v.get<int>();
  };
  c.train.epochs = int_or_auto("epochs", 0);
  c.train.batch_size = int_or_auto("batch_size", 0);
  c.train.patience = int_or_auto("patience", -1);
  c.train.lr_drops = int_or_auto("lr_drops", -1);
  const json ema = train("ema");
  c.train.ema = ema.is_string() ? -1.0 : ema.get<double>();
  const json vf = train("validation_fraction");
  c.train.validation_fraction = vf.is_string() ? -1.0 : vf.get<double>();
  c.train.adam.lr = train("learning_rate").get<double>();
  const json wd = train("weight_decay");
  c.train.adam.weight_decay = wd.is_string() ? kWeightDecayAuto : wd.get<double>();
  {
    const std::string on = train("weight_decay_on").get<std::string>();
    if (on == "auto") c.train.decay_on = DecayOn::Auto;
    else if (on == "all") c.train.decay_on = DecayOn::All;
    else if (on == "flow") c.train.decay_on = DecayOn::Flow;
    else if (on == "categorical") c.train.decay_on = DecayOn::Categorical;
    else EF_THROW(name, ": train.weight_decay_on must be \"auto\", \"all\", \"flow\" or \"categorical\" (got \"", on, "\")");
  }
  c.train.seed = train("seed").get<uint64_t>();
  c.flow.seed = c.train.seed;
  c.train.loss_every = train("loss_every").get<int>();
  const json mb = train("max_resident_mb");  // absent: half the device's free memory
  if (!mb.is_null()) c.train.max_resident_bytes = int64_t(mb.get<double>() * 1048576.0);
  c.threads = train("threads").get<int>();

  c.conditional = checked(root, "conditional", "conditional", name).get<std::vector<std::string>>();
  c.device = checked(root, "device", "device", name).get<std::string>();
  const json o = root.value("output", json::object());
  check_keys(o, section_keys("output"), "output", name);
  if (what == ConfigFor::File)
    c.output_model = resolve(checked(o, "output.model", "output.model", name).get<std::string>());
  try {
    (void)root.dump();  // the config is stored in every model file: it must be valid UTF-8
  } catch (const json::exception&) {
    EF_THROW(name, ": the config (with --set values) is not valid UTF-8");
  }
  c.effective = root;
  return c;
}

Config parse_config(const std::string& text, const std::string& name, const std::string& base_dir,
                    const std::vector<std::string>& overrides) {
  json root;
  try {
    root = json::parse(text, nullptr, true, /*ignore_comments=*/true);  // the template has comments
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    const size_t p = msg.find("syntax error");
    EF_THROW(name, ": malformed JSON at ", line_col(text, e.byte ? e.byte - 1 : 0), ": ",
             p == std::string::npos ? msg : msg.substr(p));
  } catch (const json::exception& e) {
    EF_THROW(name, ": invalid JSON: ", e.what());  // e.g. 1e309 (number overflow)
  }
  return config_from_json(std::move(root), name, base_dir, overrides, ConfigFor::File);
}

echoflow::FitOptions fit_options(const Config& c) {
  echoflow::FitOptions opt;
  opt.flow = c.flow;
  opt.train = c.train;
  opt.columns = c.column_options;
  opt.support = c.support;
  opt.support_margin = c.support_margin;
  opt.split_modes = c.split_modes;
  opt.missing_tokens = c.missing_tokens;
  opt.conditional = c.conditional;
  opt.categorical_order = c.categorical_order;
  opt.categorical_model = c.categorical_model;
  opt.choose_flows = c.choose_flows;
  opt.choose_encoders = c.choose_encoders;
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
