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
    auto it = opt.types.find(name);
    if (it != opt.types.end()) {
      col.type = it->second;
    } else {
      bool numeric = true, whole = true;
      std::set<double> distinct;
      size_t present = 0;
      for (size_t r = 0; r < n; ++r) {
        if (col.is_missing(r)) continue;
        double v;
        if (!parse_number(cells[r], v)) { numeric = false; break; }
        ++present;
        whole &= v == std::floor(v) && std::fabs(v) < 9e15;
        if (distinct.size() <= size_t(opt.categorical_max_levels)) distinct.insert(v);
      }
      if (!numeric || present == 0)
        col.type = ColumnType::Categorical;
      else if (opt.categorical_max_levels > 0 && distinct.size() <= size_t(opt.categorical_max_levels) &&
               2 * distinct.size() <= present)
        col.type = ColumnType::Categorical;
      else
        col.type = whole ? ColumnType::Integer : ColumnType::Continuous;
    }
    if (col.type == ColumnType::Categorical) {
      for (size_t r = 0; r < n; ++r)
        if (!valid_utf8(cells[r]))
          EF_THROW(path, ": row ", r + 1, ", column \"", name, "\": the label is not valid UTF-8 (convert the file to UTF-8)");
      col.labels = std::move(cells);
    } else {
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
      cells.clear();
      cells.shrink_to_fit();
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
  const size_t n = t.rows();
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Column& col = t.columns[c];
      if (c) out += ',';
      if (col.is_missing(r)) {
        // As the input wrote it: an empty token stays an empty field (quoted only when it is the
        // row's one field, which would otherwise be a blank line).
        if (!col.missing_token.empty() || t.columns.size() == 1) out += ef::csv_field(col.missing_token);
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
