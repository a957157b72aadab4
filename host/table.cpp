// CSV <-> Table: missing-value tokens, type inference and numeric parsing, with errors that name
// the file, row and column.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <echoflow/echoflow.hpp>
#include <set>

#include "csv.hpp"
#include "number_text.hpp"
#include "table_stream.hpp"

namespace echoflow {

// A whole-cell decimal number. Not finite (inf, nan, 1e999 overflow): false, and *non_finite
// set. Underflow (1e-999) reads as the nearest double, 0 or subnormal.
bool parse_number(std::string_view s, double& out, bool* non_finite) {
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

MissingTokens::MissingTokens(const std::vector<std::string>& tokens) {
  const std::set<std::string> sorted(tokens.begin(), tokens.end());
  list.assign(sorted.begin(), sorted.end());
  for (auto& t : list) max_len = std::max(max_len, t.size());
}

namespace {

// RFC 3629 UTF-8 (no overlongs, no surrogates): names and labels go into the model file's JSON.
bool valid_utf8(std::string_view s) {
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

// The first row r in [0, n) where ok(r) is false (n: none). Contiguous ranges in parallel for
// long columns, each stopping at its own first failure; ok must not throw.
template <class Ok>
size_t first_failing_row(size_t n, const Ok& ok) {
  const int threads = n >= 16384 ? omp_get_max_threads() : 1;
  if (threads <= 1) {
    for (size_t r = 0; r < n; ++r)
      if (!ok(r)) return r;
    return n;
  }
  std::vector<size_t> first(size_t(threads), n);
#pragma omp parallel num_threads(threads)
  {
    const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
    for (size_t r = n * t / nt, r1 = n * (t + 1) / nt; r < r1; ++r)
      if (!ok(r)) {
        first[t] = r;
        break;
      }
  }
  return *std::min_element(first.begin(), first.end());
}

void check_name(const std::string& path, const std::string& name, size_t c) {
  if (!valid_utf8(name))
    EF_THROW(path, ": header: column ", c + 1, " name is not valid UTF-8 (convert the file to UTF-8)");
}

// Converts the cells of column `name` (views into the file's text). declared: the type, or null
// to infer it. Row numbers in messages are first_row + r + 1.
Column convert_column(const std::string& path, const std::string& name, size_t c,
                      std::vector<std::string_view>& cells, const ColumnType* declared,
                      const ReadOptions& opt, const MissingTokens& tokens, size_t first_row) {
  const size_t n = cells.size();
  Column col;
  col.name = name;
  check_name(path, name, c);
  if (!tokens.list.empty()) {
    std::vector<uint8_t> miss(n, 0);
    std::vector<size_t> count(tokens.list.size(), 0);
    bool any_missing = false;
    for (size_t r = 0; r < n; ++r) {
      const int k = tokens.find(cells[r]);
      if (k >= 0) {
        miss[r] = 1;
        any_missing = true;
        ++count[size_t(k)];
      }
    }
    if (any_missing) {
      col.missing = std::move(miss);
      size_t best = 0;  // the most frequent token; a tie goes to the first in sorted order
      for (size_t k = 0; k < count.size(); ++k)
        if (count[k] > best) { best = count[k]; col.missing_token = tokens.list[k]; }
    }
  }
  const auto cell = [&](size_t r) { return std::string(cells[r]); };
  bool parsed = false;  // col.values already hold the numbers (read once, by inference)
  if (declared) {
    col.type = *declared;
  } else {
    // Numbers first; the rule shared with DataFrames (infer_numeric_type) then decides.
    std::atomic<size_t> bad_row{n};  // the first inf / nan / overflowing number
    std::vector<double>& values = col.values;
    values.assign(n, std::nan(""));
    const size_t not_number = first_failing_row(n, [&](size_t r) {
      if (col.is_missing(r)) return true;
      bool non_finite = false;
      if (parse_number(cells[r], values[r], &non_finite)) return true;
      if (!non_finite) return false;
      for (size_t b = bad_row.load(); r < b && !bad_row.compare_exchange_weak(b, r);) {
      }
      return true;
    });
    const bool numeric = not_number == n;
    col.type = numeric ? infer_numeric_type(values.data(), n, opt.categorical_max_levels)
                       : ColumnType::Categorical;
    // A column of numbers with an inf / NaN / 1e999 among them is numeric data with a bad
    // cell, not a column of labels: say so instead of silently reading hundreds of labels.
    if (numeric && bad_row < n && col.type != ColumnType::Categorical)
      EF_THROW(path, ": row ", first_row + bad_row + 1, ", column \"", name, "\": \"", cell(bad_row),
               "\" is not a finite number, in a column of numbers; list it in data.missing to read it "
               "as missing, or declare the column in data.columns");
    // Inferred numeric: every present cell parsed finite (whole ones for Integer) above.
    parsed = col.type != ColumnType::Categorical;
    if (!parsed) std::vector<double>().swap(values);
  }
  if (col.type == ColumnType::Categorical) {
    const size_t bad = first_failing_row(n, [&](size_t r) {
      return valid_utf8(cells[r]);
    });
    if (bad < n)
      EF_THROW(path, ": row ", first_row + bad + 1, ", column \"", name, "\": the label is not valid UTF-8 (convert the file to UTF-8)");
    col.labels.assign(cells.begin(), cells.end());
  } else if (!parsed) {
    col.values.assign(n, std::nan(""));
    const bool integer = col.type == ColumnType::Integer;
    const size_t bad = first_failing_row(n, [&](size_t r) {
      if (col.is_missing(r)) return true;
      double v;
      if (!parse_number(cells[r], v) || (integer && v != std::floor(v))) return false;
      col.values[r] = v;
      return true;
    });
    if (bad < n) {
      double v;
      if (!parse_number(cells[bad], v))
        EF_THROW(path, ": row ", first_row + bad + 1, ", column \"", name, "\": \"", cell(bad), "\" is not a ",
                 integer ? "whole number" : "finite number");
      EF_THROW(path, ": row ", first_row + bad + 1, ", column \"", name, "\": \"", cell(bad),
               "\" is not a whole number (the column is integer)");
    }
  }
  std::vector<std::string_view>().swap(cells);
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
  const MissingTokens tokens(opt.missing_tokens);
  Table t;
  t.source = path;
  for (size_t c = 0; c < csv.header.size(); ++c) {
    auto it = opt.types.find(csv.header[c]);
    t.columns.push_back(convert_column(path, csv.header[c], c, csv.cells[c],
                                       it == opt.types.end() ? nullptr : &it->second, opt, tokens, 0));
  }
  return t;
}

TableReader::TableReader(const std::string& path, const ReadOptions& opt, const ef::CsvReadOptions& csv)
    : path_(path), reader_(path, opt.header.empty() ? nullptr : &opt.header, csv), opt_(opt),
      tokens_(opt.missing_tokens) {
  const auto& h = reader_.header();
  check_declared(path, h, opt);
  for (size_t c = 0; c < h.size(); ++c)
    if (opt.types.count(h[c])) keep_.push_back(int(c));
}

namespace {

// The declared numeric columns of a block, parsed a tile of rows at a time across all of them.
// A block's text is tens of MB (65,536 rows of 64 numbers: 77 MB) and the cells of one column
// lie a row apart in it, so converting column by column reads every cell from memory, not cache
// (a stall per cell: 27% of `score`'s CPU time at 64 columns,
// bench/results/score_path_2026-11-30.md); a tile's rows stay in cache across its columns.
// Only the common case is taken here: ok[i] stays 1 when every cell of column i is a number
// (whole for integer columns) and none is a missing token. Any other column is left to
// convert_column, which converts it and reports its errors exactly as before.
void numeric_tiles(const std::vector<std::vector<std::string_view>>& cells, const std::vector<int>& keep,
                   const std::vector<ColumnType>& types, const MissingTokens& tokens,
                   std::vector<Column>& cols, std::vector<uint8_t>& ok) {
  const size_t nk = keep.size(), n = nk ? cells[size_t(keep[0])].size() : 0;
  cols.assign(nk, Column());
  ok.assign(nk, 0);
  for (size_t i = 0; i < nk; ++i)
    if (types[i] != ColumnType::Categorical) {
      ok[i] = 1;
      cols[i].type = types[i];
      cols[i].values.resize(n);
    }
  constexpr size_t kTile = 256;
  const size_t tiles = (n + kTile - 1) / kTile;
  const int threads = n >= 16384 ? omp_get_max_threads() : 1;
  std::vector<uint8_t> bad(size_t(std::max(threads, 1)) * nk, 0);  // per thread, per column
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    uint8_t* my_bad = &bad[size_t(omp_get_thread_num()) * nk];
#pragma omp for schedule(static)
    for (size_t t = 0; t < tiles; ++t) {
      const size_t r0 = t * kTile, r1 = std::min(n, r0 + kTile);
      for (size_t i = 0; i < nk; ++i) {
        if (!ok[i] || my_bad[i]) continue;
        const std::string_view* cell = cells[size_t(keep[i])].data();
        double* v = cols[i].values.data();
        const bool integer = types[i] == ColumnType::Integer;
        for (size_t r = r0; r < r1; ++r)
          if (tokens.find(cell[r]) >= 0 || !parse_number(cell[r], v[r]) || (integer && v[r] != std::floor(v[r]))) {
            my_bad[i] = 1;
            break;
          }
      }
    }
  }
  for (size_t i = 0; i < nk; ++i)
    for (int k = 0; k < threads; ++k)
      if (bad[size_t(k) * nk + i]) ok[i] = 0;
}

}  // namespace

bool TableReader::next(Table& out, size_t max_rows) {
  if (!reader_.next(cells_, max_rows)) return false;
  out.columns.clear();
  out.source = path_;
  std::vector<ColumnType> types;
  for (int c : keep_) types.push_back(opt_.types.at(cells_.header[size_t(c)]));
  std::vector<Column> fast;
  std::vector<uint8_t> ok;
  numeric_tiles(cells_.cells, keep_, types, tokens_, fast, ok);
  // In column order, so that the first column with an error is the one reported, as before.
  for (size_t i = 0; i < keep_.size(); ++i) {
    const int c = keep_[i];
    const std::string& name = cells_.header[size_t(c)];
    if (ok[i]) {
      check_name(path_, name, size_t(c));
      fast[i].name = name;
      out.columns.push_back(std::move(fast[i]));  // cells_ keeps its views' storage for the next block
    } else {
      out.columns.push_back(convert_column(path_, name, size_t(c), cells_.cells[size_t(c)], &types[i],
                                           opt_, tokens_, reader_.first_row()));
    }
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

namespace {

// s as one CSV field at p (quoted when needed); p has room for 2 * s.size() + 2 bytes.
char* put_field(char* p, const std::string& s) {
  if (!ef::csv_needs_quotes(s)) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }
  *p++ = '"';
  for (char ch : s) {
    if (ch == '"') *p++ = '"';
    *p++ = ch;
  }
  *p++ = '"';
  return p;
}

}  // namespace

void format_rows(const Table& t, size_t r0, size_t r1, std::string& out) {
  // Written through a pointer into out, grown ahead of each cell (no per-character checks).
  size_t pos = out.size();
  const auto room = [&](size_t need) -> char* {
    if (out.size() - pos < need) out.resize(std::max(2 * out.size(), pos + need + (size_t(1) << 16)));
    return &out[pos];
  };
  const size_t ncols = t.columns.size();
  for (size_t r = r0; r < r1; ++r) {
    for (size_t c = 0; c < ncols; ++c) {
      const Column& col = t.columns[c];
      char* p;
      if (col.is_missing(r)) {
        // As the input wrote it: an empty token stays an empty field (quoted only when it is the
        // row's one field, which would otherwise be a blank line).
        p = room(2 * col.missing_token.size() + 4);
        if (!col.missing_token.empty() || ncols == 1) p = put_field(p, col.missing_token);
      } else if (col.type == ColumnType::Categorical) {
        p = room(2 * col.labels[r].size() + 4);
        p = put_field(p, col.labels[r]);
      } else {
        p = room(64);
        const double v = col.values[r];
        // Whole numbers in integer columns print without an exponent while exact in int64.
        if (col.type == ColumnType::Integer && v == std::floor(v) && std::fabs(v) < 9.2e18)
          p = std::to_chars(p, p + 32, int64_t(v)).ptr;
        else
          p = ef::format_double(p, v);  // shortest form that reads back exactly (to_chars' bytes)
      }
      *p++ = c + 1 < ncols ? ',' : '\n';
      pos = size_t(p - out.data());
    }
  }
  out.resize(pos);
}

void TableWriter::write(const Table& block) {
  if (!header_done_) {
    f_.write(format_header(block));
    header_done_ = true;
  }
  const size_t n = block.rows();
  // Rounds of pieces of about 2 MB each, formatted in parallel into buffers kept from round to
  // round (no page faults after the first), then written in order.
  const size_t piece_rows = std::max<size_t>(256, (size_t(2) << 20) / (24 * std::max<size_t>(1, block.columns.size())));
  const size_t threads = size_t(std::max(1, omp_get_max_threads()));
  if (parts_.size() < threads) parts_.resize(threads);
  for (size_t r0 = 0; r0 < n; r0 += piece_rows * threads) {
    const size_t pieces = std::min(threads, (n - r0 + piece_rows - 1) / piece_rows);
#pragma omp parallel for num_threads(int(pieces)) schedule(static, 1) if (pieces > 1)
    for (size_t i = 0; i < pieces; ++i) {
      parts_[i].clear();
      const size_t a = r0 + i * piece_rows;
      format_rows(block, a, std::min(n, a + piece_rows), parts_[i]);
    }
    for (size_t i = 0; i < pieces; ++i) f_.write(parts_[i]);
  }
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
