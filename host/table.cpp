// CSV <-> Table: missing-value tokens, type inference and numeric parsing, with errors that name
// the file, row and column.
#include <omp.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <echoflow/echoflow.hpp>
#include <set>

#include "csv.hpp"
#include "table_stream.hpp"

namespace echoflow {

// A whole-cell decimal number. Not finite (inf, nan, 1e999 overflow): false, and *non_finite
// set. Underflow (1e-999) reads as the nearest double, 0 or subnormal.
bool parse_number(const std::string& s, double& out, bool* non_finite) {
  if (non_finite) *non_finite = false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;  // strtod accepted it; from_chars does not
  if (b == e || (s[0] == '+' && *b == '-')) return false;
  double v;
  const auto r = std::from_chars(b, e, v, std::chars_format::general);
  if (r.ptr != e) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars does not say which way: strtod gives +-HUGE_VAL for overflow, 0/subnormal for underflow.
    v = std::strtod(std::string(b, e).c_str(), nullptr);
  } else if (r.ec != std::errc()) {
    return false;
  }
  if (!std::isfinite(v) || std::fabs(v) == HUGE_VAL) {
    if (non_finite) *non_finite = true;
    return false;
  }
  out = v;
  return true;
}

namespace {

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

namespace {

// Converts the cells of column `name` (cells are consumed). declared: the type, or null to
// infer it. Row numbers in messages are first_row + r + 1.
Column convert_column(const std::string& path, const std::string& name, size_t c,
                      std::vector<std::string>& cells, const ColumnType* declared,
                      const ReadOptions& opt, const std::set<std::string>& tokens, size_t first_row) {
  const size_t n = cells.size();
  if (!valid_utf8(name))
    EF_THROW(path, ": header: column ", c + 1, " name is not valid UTF-8 (convert the file to UTF-8)");
  Column col;
  col.name = name;
  std::vector<uint8_t> miss(n, 0);
  bool any_missing = false;
  std::map<std::string, size_t> token_count;
  if (!tokens.empty())
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
  bool parsed = false;  // col.values already hold the numbers (read once, by inference)
  if (declared) {
    col.type = *declared;
  } else {
    // Numbers first; the rule shared with DataFrames (infer_numeric_type) then decides.
    bool numeric = true;
    size_t bad_row = n;  // the first inf / nan / overflowing number
    std::vector<double>& values = col.values;
    values.assign(n, std::nan(""));
    for (size_t r = 0; r < n && numeric; ++r) {
      if (col.is_missing(r)) continue;
      bool non_finite = false;
      if (!parse_number(cells[r], values[r], &non_finite)) {
        if (non_finite) {
          if (bad_row == n) bad_row = r;
          continue;
        }
        numeric = false;
      }
    }
    col.type = numeric ? infer_numeric_type(values.data(), n, opt.categorical_max_levels)
                       : ColumnType::Categorical;
    // A column of numbers with an inf / NaN / 1e999 among them is numeric data with a bad
    // cell, not a column of labels: say so instead of silently reading hundreds of labels.
    if (numeric && bad_row < n && col.type != ColumnType::Categorical)
      EF_THROW(path, ": row ", first_row + bad_row + 1, ", column \"", name, "\": \"", cells[bad_row],
               "\" is not a finite number, in a column of numbers; list it in data.missing to read it "
               "as missing, or declare the column in data.columns");
    // Inferred numeric: every present cell parsed finite (whole ones for Integer) above.
    parsed = col.type != ColumnType::Categorical;
    if (!parsed) std::vector<double>().swap(values);
  }
  if (col.type == ColumnType::Categorical) {
    for (size_t r = 0; r < n; ++r)
      if (!valid_utf8(cells[r]))
        EF_THROW(path, ": row ", first_row + r + 1, ", column \"", name, "\": the label is not valid UTF-8 (convert the file to UTF-8)");
    col.labels = std::move(cells);
  } else if (parsed) {
    std::vector<std::string>().swap(cells);
  } else {
    col.values.resize(n, std::nan(""));
    for (size_t r = 0; r < n; ++r) {
      if (col.is_missing(r)) continue;
      double v;
      if (!parse_number(cells[r], v))
        EF_THROW(path, ": row ", first_row + r + 1, ", column \"", name, "\": \"", cells[r], "\" is not a ",
                 col.type == ColumnType::Integer ? "whole number" : "finite number");
      if (col.type == ColumnType::Integer && v != std::floor(v))
        EF_THROW(path, ": row ", first_row + r + 1, ", column \"", name, "\": \"", cells[r],
                 "\" is not a whole number (the column is integer)");
      col.values[r] = v;
    }
    std::vector<std::string>().swap(cells);
  }
  return col;
}

void check_declared(const std::string& path, const std::vector<std::string>& header, const ReadOptions& opt) {
  std::set<std::string> names(header.begin(), header.end());
  for (auto& kv : opt.types)
    if (!names.count(kv.first))
      EF_THROW(path, ": column \"", kv.first, "\" is missing (required by ", opt.declared_by, ")");
}

// Appends s as one CSV field, quoted when needed (ef::csv_needs_quotes), without a temporary.
void append_field(std::string& out, const std::string& s) {
  if (!ef::csv_needs_quotes(s)) {
    out += s;
    return;
  }
  out += '"';
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

}  // namespace

Table read_table(const std::string& path, const ReadOptions& opt) {
  ef::CsvTable csv = ef::read_csv(path, opt.header.empty() ? nullptr : &opt.header);
  check_declared(path, csv.header, opt);
  const std::set<std::string> tokens(opt.missing_tokens.begin(), opt.missing_tokens.end());
  Table t;
  t.source = path;
  for (size_t c = 0; c < csv.header.size(); ++c) {
    auto it = opt.types.find(csv.header[c]);
    t.columns.push_back(convert_column(path, csv.header[c], c, csv.cells[c],
                                       it == opt.types.end() ? nullptr : &it->second, opt, tokens, 0));
  }
  return t;
}

TableReader::TableReader(const std::string& path, const ReadOptions& opt)
    : path_(path), reader_(path, opt.header.empty() ? nullptr : &opt.header), opt_(opt),
      tokens_(opt.missing_tokens.begin(), opt.missing_tokens.end()) {
  const auto& h = reader_.header();
  check_declared(path, h, opt);
  for (size_t c = 0; c < h.size(); ++c)
    if (opt.types.count(h[c])) keep_.push_back(int(c));
}

bool TableReader::next(Table& out, size_t max_rows) {
  if (!reader_.next(cells_, max_rows)) return false;
  out.columns.clear();
  out.source = path_;
  for (int c : keep_) {
    const std::string& name = cells_.header[c];
    out.columns.push_back(convert_column(path_, name, size_t(c), cells_.cells[c], &opt_.types.at(name),
                                         opt_, tokens_, reader_.first_row()));
  }
  return true;
}

std::string format_header(const Table& t) {
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c) out += ',';
    append_field(out, t.columns[c].name);
  }
  return out + "\n";
}

void format_rows(const Table& t, size_t r0, size_t r1, std::string& out) {
  char buf[64];
  for (size_t r = r0; r < r1; ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Column& col = t.columns[c];
      if (c) out += ',';
      if (col.is_missing(r)) {
        // As the input wrote it: an empty token stays an empty field (quoted only when it is the
        // row's one field, which would otherwise be a blank line).
        if (!col.missing_token.empty() || t.columns.size() == 1) append_field(out, col.missing_token);
      } else if (col.type == ColumnType::Categorical) {
        append_field(out, col.labels[r]);
      } else {
        const double v = col.values[r];
        std::to_chars_result res;
        // Whole numbers in integer columns print without an exponent while exact in int64.
        if (col.type == ColumnType::Integer && v == std::floor(v) && std::fabs(v) < 9.2e18)
          res = std::to_chars(buf, buf + sizeof buf, int64_t(v));
        else
          res = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
        out.append(buf, res.ptr);
      }
    }
    out += '\n';
  }
}

void TableWriter::write(const Table& block) {
  if (!header_done_) {
    f_.write(format_header(block));
    header_done_ = true;
  }
  const size_t n = block.rows();
  // Pieces of >= 2048 rows, formatted in parallel, written in order.
  const int pieces = int(std::min<size_t>(size_t(omp_get_max_threads()), (n + 2047) / 2048));
  if (pieces <= 1) {
    if (parts_.empty()) parts_.resize(1);
    parts_[0].clear();
    format_rows(block, 0, n, parts_[0]);
    f_.write(parts_[0]);
    return;
  }
  if (int(parts_.size()) < pieces) parts_.resize(size_t(pieces));
#pragma omp parallel for num_threads(pieces) schedule(static, 1)
  for (int i = 0; i < pieces; ++i) {
    parts_[size_t(i)].clear();
    format_rows(block, n * size_t(i) / size_t(pieces), n * size_t(i + 1) / size_t(pieces), parts_[size_t(i)]);
  }
  for (int i = 0; i < pieces; ++i) f_.write(parts_[size_t(i)]);
}

void TableWriter::commit() { f_.commit(); }

std::vector<std::string> drop_high_cardinality(Table& t, size_t max_labels) {
  std::vector<std::string> dropped;
  if (max_labels == 0) return dropped;
  std::vector<Column> kept;
  for (Column& c : t.columns) {
    if (c.type == ColumnType::Categorical) {
      std::set<std::string> distinct;
      for (size_t r = 0; r < c.labels.size() && distinct.size() <= max_labels; ++r)
        if (!c.is_missing(r)) distinct.insert(c.labels[r]);
      if (distinct.size() > max_labels) {
        std::set<std::string> all;
        for (size_t r = 0; r < c.labels.size(); ++r)
          if (!c.is_missing(r)) all.insert(c.labels[r]);
        dropped.push_back(ef::detail::cat(c.name, " (", all.size(), " distinct labels)"));
        continue;
      }
    }
    kept.push_back(std::move(c));
  }
  t.columns = std::move(kept);
  return dropped;
}

void write_table(const Table& t, const std::string& path) {
  TableWriter w(path);
  w.write(t);
  w.commit();
}

}  // namespace echoflow
