// CSV <-> Table: missing-value tokens, type inference and numeric parsing, with errors that name
// the file, row and column.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <echoflow/echoflow.hpp>
#include <set>

#include "csv.hpp"

namespace echoflow {
namespace {

// A whole-cell number that is not finite: inf, nan, 1e999 (overflow). Underflow (1e-999) reads
// as the nearest double, 0 or subnormal.
bool parse_number(const std::string& s, double& out, bool* non_finite = nullptr) {
  if (non_finite) *non_finite = false;
  if (s.empty()) return false;
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(b, &end);
  if (end == b || *end != '\0') return false;
  if (!std::isfinite(v) || (errno == ERANGE && std::fabs(v) > 1.0)) {
    if (non_finite) *non_finite = true;
    return false;
  }
  out = v;
  return true;
}

// RFC 3629 UTF-8 (no overlongs, no surrogates): names and labels go into the model file's JSON.
bool valid_utf8(const std::string& s) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    size_t len;
    unsigned cp;
    if (c < 0x80) { ++i; continue; }
    if ((c >> 5) == 0x6) { len = 2; cp = c & 0x1f; }
    else if ((c >> 4) == 0xe) { len = 3; cp = c & 0x0f; }
    else if ((c >> 3) == 0x1e) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] >> 6) != 0x2) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

}  // namespace

ColumnType infer_numeric_type(const double* values, size_t n, int categorical_max_levels) {
  bool whole = true;
  std::set<double> distinct;
  size_t present = 0;
  for (size_t r = 0; r < n; ++r) {
    const double v = values[r];
    if (std::isnan(v)) continue;
    ++present;
    whole &= v == std::floor(v) && std::fabs(v) < 9e15;
    if (distinct.size() <= size_t(categorical_max_levels)) distinct.insert(v);
  }
  if (present == 0) return ColumnType::Categorical;
  if (categorical_max_levels > 0 && distinct.size() <= size_t(categorical_max_levels) &&
      2 * distinct.size() <= present)
    return ColumnType::Categorical;
  return whole ? ColumnType::Integer : ColumnType::Continuous;
}

int Table::find(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return int(i);
  return -1;
}

Table read_table(const std::string& path, const ReadOptions& opt) {
  ef::CsvTable csv = ef::read_csv(path, opt.header.empty() ? nullptr : &opt.header);
  for (auto& kv : opt.types) {
    bool found = false;
    for (auto& h : csv.header) found |= h == kv.first;
    if (!found) EF_THROW(path, ": column \"", kv.first, "\" is missing (required by ", opt.declared_by, ")");
  }
  const std::set<std::string> tokens(opt.missing_tokens.begin(), opt.missing_tokens.end());
  Table t;
  t.source = path;
  const size_t n = csv.rows();
  for (size_t c = 0; c < csv.header.size(); ++c) {
    const std::string& name = csv.header[c];
    auto& cells = csv.cells[c];
    if (!valid_utf8(name))
      EF_THROW(path, ": header: column ", c + 1, " name is not valid UTF-8 (convert the file to UTF-8)");
    Column col;
    col.name = name;
    std::vector<uint8_t> miss(n, 0);
    bool any_missing = false;
    std::map<std::string, size_t> token_count;
    for (size_t r = 0; r < n; ++r)
      if (tokens.count(cells[r])) {
        miss[r] = 1;
        any_missing = true;
        ++token_count[cells[r]];
      }
    if (any_missing) {
      col.missing = std::move(miss);
      size_t best = 0;
      for (auto& kv : token_count)
        if (kv.second > best) { best = kv.second; col.missing_token = kv.first; }
    }
    bool parsed = false;  // values already read by inference
    auto it = opt.types.find(name);
    if (it != opt.types.end()) {
      col.type = it->second;
    } else {
      // Numbers first; the rule (shared with DataFrames) then decides between the three types.
      bool numeric = true;
      size_t bad_row = n;  // the first inf / nan / overflowing number
      col.values.assign(n, std::nan(""));
      for (size_t r = 0; r < n && numeric; ++r) {
        if (col.is_missing(r)) continue;
        bool non_finite = false;
        if (!parse_number(cells[r], col.values[r], &non_finite)) {
          if (non_finite) {
            if (bad_row == n) bad_row = r;
            continue;
          }
          numeric = false;
        }
      }
      col.type = numeric ? infer_numeric_type(col.values.data(), n, opt.categorical_max_levels)
                         : ColumnType::Categorical;
      // A column of numbers with an inf / NaN / 1e999 among them is numeric data with a bad
      // cell, not a column of labels: say so instead of silently reading hundreds of labels.
      if (numeric && bad_row < n && col.type != ColumnType::Categorical)
        EF_THROW(path, ": row ", bad_row + 1, ", column \"", name, "\": \"", cells[bad_row],
                 "\" is not a finite number, in a column of numbers; list it in data.missing to read it "
                 "as missing, or declare the column in data.columns");
      if (col.type == ColumnType::Categorical) std::vector<double>().swap(col.values);
      parsed = col.type != ColumnType::Categorical;
    }
    if (col.type == ColumnType::Categorical) {
      for (size_t r = 0; r < n; ++r)
        if (!valid_utf8(cells[r]))
          EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": the label is not valid UTF-8 (convert the file to UTF-8)");
      col.labels = std::move(cells);
    } else if (!parsed) {
      col.values.resize(n, std::nan(""));
      for (size_t r = 0; r < n; ++r) {
        if (col.is_missing(r)) continue;
        double v;
        if (!parse_number(cells[r], v))
          EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": \"", cells[r], "\" is not a ",
                   col.type == ColumnType::Integer ? "whole number" : "finite number");
        if (col.type == ColumnType::Integer && v != std::floor(v))
          EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": \"", cells[r],
                   "\" is not a whole number (the column is integer)");
        col.values[r] = v;
      }
    }
    if (col.type != ColumnType::Categorical) std::vector<std::string>().swap(cells);
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
  const size_t n = t.rows();
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Column& col = t.columns[c];
      if (c) out += ',';
      if (col.is_missing(r)) {
        out += ef::csv_field(col.missing_token);
      } else if (col.type == ColumnType::Categorical) {
        out += ef::csv_field(col.labels[r]);
      } else {
        std::snprintf(buf, sizeof buf, col.type == ColumnType::Integer ? "%.0f" : "%.9g", col.values[r]);
        out += buf;
      }
    }
    out += '\n';
  }
  ef::write_file_atomic(path, out);
}

}  // namespace echoflow
