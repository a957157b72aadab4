#include "schema.hpp"

#include <algorithm>
#include <cstdio>

#include "backend.hpp"

namespace ef {
namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string encoder_name(const ColumnEncoder& e) {
  if (e.is_categorical()) return "categorical MADE";
  std::string s = e.type == ColumnType::Integer ? "dequantize + " : "";
  if (e.bound == BoundMap::Log) s += "log(x - min) + ";
  if (e.bound == BoundMap::Logit) s += "logit + ";
  s += e.marginal == Marginal::Quantile ? "quantile" : "standardize";
  if (!e.mode_z.empty()) s += " + " + std::to_string(e.value_states()) + " modes";
  return s;
}

}  // namespace

nlohmann::json column_schema(const ColumnEncoder& e, const ColumnStats& s, bool conditional) {
  nlohmann::json c;
  c["name"] = e.name;
  c["type"] = to_string(e.type);
  c["encoder"] = encoder_name(e);
  c["missing_rate"] = s.rows ? double(s.missing) / double(s.rows) : 0.0;
  c["conditional"] = conditional;
  if (e.is_categorical()) {
    c["levels"] = e.labels;
  } else {
    c["range"] = {s.min, s.max};
    if (e.has_min) c["declared_min"] = e.min;
    if (e.has_max) c["declared_max"] = e.max;
    nlohmann::json atoms = nlohmann::json::array();
    for (size_t i = 0; i < e.atoms.size(); ++i)
      atoms.push_back({{"value", e.atoms[i]}, {"share", i < s.atom_share.size() ? s.atom_share[i] : 0.0}});
    c["point_masses"] = atoms;
    if (!e.mode_z.empty()) {
      nlohmann::json splits = nlohmann::json::array();  // where one mode ends and the next begins
      for (double z : e.mode_z) splits.push_back(e.value_at_score(z));
      c["mode_splits"] = splits;
    }
  }
  return c;
}

nlohmann::json device_schema(const std::string& requested) {
  nlohmann::json d{{"requested", requested}};
  if (requested == "cpu") {  // no CUDA probe: a CPU run does not even look for the driver
    d["used"] = "cpu";
    return d;
  }
  const CudaInfo& ci = cuda_info();
  const bool gpu = ci.compiled && ci.devices > 0;
  if (requested == "cuda" || (requested == "auto" && gpu)) {
    d["used"] = "cuda";
  } else {
    d["used"] = "cpu";
    if (requested == "auto") d["reason"] = ci.compiled ? "no usable GPU: " + ci.reason : ci.reason;
  }
  return d;
}

std::string format_schema(const nlohmann::json& schema) {
  struct Row {
    std::string cells[7];
  };
  std::vector<Row> rows{{{"column", "type", "encoder", "levels / range", "missing", "point masses",
                          "conditional"}}};
  for (auto& c : schema.value("columns", nlohmann::json::array())) {
    Row r;
    r.cells[0] = c.value("name", "");
    r.cells[1] = c.value("type", "");
    r.cells[2] = c.value("encoder", "");
    if (c.contains("levels")) {
      const auto& lv = c["levels"];
      std::string s = std::to_string(lv.size()) + ":";
      const size_t show = std::min<size_t>(lv.size(), 5);
      for (size_t i = 0; i < show; ++i) s += (i ? ", " : " ") + lv[i].get<std::string>();
      if (lv.size() > show) s += ", ...";
      r.cells[3] = s;
    } else if (c.contains("range")) {
      r.cells[3] = "[" + num(c["range"][0].get<double>()) + ", " + num(c["range"][1].get<double>()) + "]";
    }
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100 * c.value("missing_rate", 0.0));
    r.cells[4] = b;
    // Up to 5 point masses in value order; more (spikes: up to 16) as a count and the 5 largest.
    std::vector<nlohmann::json> masses;
    for (auto& a : c.value("point_masses", nlohmann::json::array())) masses.push_back(a);
    const bool more = masses.size() > 5;
    if (more) {
      std::stable_sort(masses.begin(), masses.end(), [](const nlohmann::json& x, const nlohmann::json& y) {
        return x.value("share", 0.0) > y.value("share", 0.0);
      });
    }
    std::string pm;
    for (size_t i = 0; i < std::min<size_t>(masses.size(), 5); ++i) {
      const double share = 100 * masses[i].value("share", 0.0);
      std::snprintf(b, sizeof b, share < 1 ? " (%.1f%%)" : " (%.0f%%)", share);
      pm += (i ? ", " : "") + num(masses[i].value("value", 0.0)) + b;
    }
    r.cells[5] = masses.empty() ? "-" : more ? std::to_string(masses.size()) + ": " + pm + ", ..." : pm;
    r.cells[6] = c.value("conditional", false) ? "yes" : "no";
    rows.push_back(r);
  }
  size_t w[7] = {0};
  for (auto& r : rows)
    for (int k = 0; k < 7; ++k) w[k] = std::max(w[k], r.cells[k].size());
  std::string out;
  for (auto& r : rows) {
    std::string line = " ";
    for (int k = 0; k < 7; ++k) line += " " + r.cells[k] + std::string(k < 6 ? w[k] - r.cells[k].size() + 1 : 0, ' ');
    out += line + "\n";
  }
  if (schema.contains("device")) {
    const auto& d = schema["device"];
    out += "  device: " + d.value("used", "?") + " (requested \"" + d.value("requested", "?") + "\"";
    if (d.contains("reason")) out += "; " + d["reason"].get<std::string>();
    out += ")\n";
  }
  return out;
}

}  // namespace ef
