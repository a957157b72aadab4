// CSV <-> Table: type inference and numeric parsing with row/column error messages.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <echoflow/echoflow.hpp>

#include "csv.hpp"

namespace echoflow {
namespace {

bool is_missing_token(const std::string& s) {
  return s.empty() || s == "NA" || s == "?" || s == "nan" || s == "NaN" || s == "null";
}

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(b, &end);
  if (end == b || *end != '\0' || errno == ERANGE || !std::isfinite(v)) return false;
  out = v;
  return true;
}

}  // namespace

int Table::find(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return int(i);
  return -1;
}

Table read_table(const std::string& path, const std::map<std::string, ColumnType>& declared,
                 const std::string& declared_by) {
  ef::CsvTable csv = ef::read_csv(path);
  for (auto& kv : declared) {
    bool found = false;
    for (auto& h : csv.header) found |= h == kv.first;
    if (!found) EF_THROW(path, ": column \"", kv.first, "\" is missing (required by ", declared_by, ")");
  }
  Table t;
  t.source = path;
  for (size_t c = 0; c < csv.header.size(); ++c) {
    const std::string& name = csv.header[c];
    const auto& cells = csv.cells[c];
    Column col;
    col.name = name;
    auto it = declared.find(name);
    if (it != declared.end()) {
      col.type = it->second;
    } else {
      // Inference: numbers -> integer when all whole, else continuous; text -> categorical.
      bool numeric = true, whole = true;
      for (auto& s : cells) {
        double v;
        if (is_missing_token(s)) continue;
        if (!parse_number(s, v)) {
          numeric = false;
          break;
        }
        whole &= v == std::floor(v) && std::fabs(v) < 9e15;
      }
      col.type = !numeric ? ColumnType::Categorical : whole ? ColumnType::Integer : ColumnType::Continuous;
    }
    if (col.type == ColumnType::Categorical)
      EF_THROW(path, ": column \"", name, "\" is categorical; this version models continuous and "
               "integer columns only (declare it, or drop it)");
    col.values.reserve(cells.size());
    for (size_t r = 0; r < cells.size(); ++r) {
      const std::string& s = cells[r];
      double v;
      if (is_missing_token(s))
        EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": missing value \"", s,
                 "\" (missing values are not supported in this version)");
      if (!parse_number(s, v))
        EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": \"", s, "\" is not a ",
                 col.type == ColumnType::Integer ? "whole number" : "finite number");
      if (col.type == ColumnType::Integer && v != std::floor(v))
        EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": \"", s,
                 "\" is not a whole number (the column is declared integer)");
      col.values.push_back(v);
    }
    t.columns.push_back(std::move(col));
  }
  return t;
}

void write_table(const Table& t, const std::string& path) {
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c)
    out += (c ? "," : "") + ef::csv_field(t.columns[c].name);
  out += "\n";
  char buf[64];
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Column& col = t.columns[c];
      if (col.type == ColumnType::Integer)
        std::snprintf(buf, sizeof buf, "%.0f", col.values[r]);
      else
        std::snprintf(buf, sizeof buf, "%.9g", col.values[r]);
      if (c) out += ',';
      out += buf;
    }
    out += '\n';
  }
  ef::write_file_atomic(path, out);
}

}  // namespace echoflow
