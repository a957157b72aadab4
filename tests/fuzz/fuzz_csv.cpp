// libFuzzer target: ef::parse_csv on arbitrary bytes, compared with libcsv's strict mode (the
// reference in tests/support: the same bytes accepted or refused, the same cells) and with
// itself cut into tiny blocks and parallel pieces (the block and piece edges fall everywhere),
// then the per-cell work read_table does (missing tokens, number parsing, type inference), then
// a write/read round trip through ef::csv_field (the quoting write_table uses), then the CSV
// writer (echoflow::format_rows) on the input's bytes taken as doubles, whole numbers and
// labels, with missing cells: what it writes must parse back to bit-identical numbers, the same
// labels and the missing token. parse_csv must succeed or throw ef::Error; anything else
// (another exception type, a sanitizer report, a broken invariant) is a bug.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>

#include "csv.hpp"
#include "csv_reference.hpp"
#include "error.hpp"
#include "table_stream.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz_csv: invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}

using echoflow::parse_number;  // the reader's number parser (host/table.cpp)

// Column typing as in read_table (default ReadOptions: tokens "", NA, ?, nan; 10 levels).
void infer(const std::vector<std::string_view>& cells) {
  static const std::set<std::string, std::less<>> tokens{"", "NA", "?", "nan"};
  bool numeric = true, whole = true;
  std::set<double> distinct;
  size_t present = 0;
  for (std::string_view s : cells) {
    if (tokens.count(s)) continue;
    double v;
    if (!parse_number(s, v)) { numeric = false; break; }
    if (!std::isfinite(v)) fail("parse_number accepted a non-finite value", std::string(s));
    ++present;
    whole &= v == std::floor(v) && std::fabs(v) < 9e15;
    if (distinct.size() <= 10) distinct.insert(v);
  }
  (void)numeric;
  (void)whole;
}

std::string write(const ef::CsvTable& t) {
  std::string out;
  for (size_t c = 0; c < t.header.size(); ++c) out += (c ? "," : "") + ef::csv_field(t.header[c]);
  out += '\n';
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c = 0; c < t.header.size(); ++c) out += (c ? "," : "") + ef::csv_field(t.cells[c][r]);
    out += '\n';
  }
  return out;
}

}  // namespace

// The writer: the input as doubles (finite ones), as whole numbers (an integer column) and as
// labels, with missing cells (a missing token picked by the input) in the numeric columns; write,
// parse, compare. With the input's first byte >= 0x80 the table is the one continuous column
// alone, where an empty missing token must not become a blank line (which the reader skips).
void writer_round_trip(const uint8_t* data, size_t size) {
  using echoflow::Column;
  std::vector<double> v, k;
  std::vector<std::string> labels;
  std::vector<uint8_t> miss_v, miss_k;
  for (size_t i = 0; i + 8 <= size; i += 8) {
    double d;
    std::memcpy(&d, data + i, 8);
    if (!std::isfinite(d) || (d != 0 && std::fabs(d) < 2.2250738585072014e-308)) continue;  // finite, normal
    v.push_back(d);
    k.push_back(std::floor(d));
    labels.emplace_back(reinterpret_cast<const char*>(data + i), 8);
    // The reader refuses NUL bytes (never text), so labels with one cannot round-trip: replaced.
    for (char& ch : labels.back())
      if (ch == '\0') ch = '\x01';
    miss_v.push_back((data[i] ^ data[i + 3]) & 1);
    miss_k.push_back((data[i + 1] ^ data[i + 4]) & 1);
  }
  if (v.empty()) return;
  static const char* const tokens[] = {"", "NA", "?", "nan"};
  const std::string token = size % 5 < 4 ? tokens[size % 5] : labels[0];
  const bool alone = data[0] >= 0x80;
  echoflow::Table t;
  t.columns.push_back(Column::numeric("v", v));
  t.columns.back().missing = miss_v;
  t.columns.back().missing_token = token;
  if (!alone) {
    t.columns.push_back(Column::numeric("k", k, ef::ColumnType::Integer));
    t.columns.back().missing = miss_k;
    t.columns.back().missing_token = token;
    t.columns.push_back(Column::categorical("label", labels));
  }
  std::string text = echoflow::format_header(t);
  echoflow::format_rows(t, 0, t.rows(), text);
  ef::CsvTable u;
  try {
    u = ef::parse_csv(text, "written.csv");
  } catch (const ef::Error& e) {
    fail("the writer's output does not parse:", e.what());
  }
  if (u.rows() != v.size() || u.header.size() != t.columns.size()) fail("the writer's output has the wrong shape");
  for (size_t r = 0; r < v.size(); ++r) {
    double back;
    if (miss_v[r]) {
      if (u.cells[0][r] != token) fail("a missing cell reads back different:", std::string(u.cells[0][r]));
    } else {
      if (!parse_number(u.cells[0][r], back)) fail("a written number does not parse:", std::string(u.cells[0][r]));
      if (std::memcmp(&back, &v[r], 8) != 0) fail("a written number reads back different:", std::string(u.cells[0][r]));
    }
    if (alone) continue;
    if (miss_k[r]) {
      if (u.cells[1][r] != token) fail("a missing integer cell reads back different:", std::string(u.cells[1][r]));
    } else {
      // Whole numbers are written as integers, so -0 comes back as 0: compared by value.
      if (!parse_number(u.cells[1][r], back)) fail("a written integer does not parse:", std::string(u.cells[1][r]));
      if (back != k[r]) fail("a written integer reads back different:", std::string(u.cells[1][r]));
    }
    if (u.cells[2][r] != labels[r]) fail("a written label reads back different");
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  writer_round_trip(data, size);
  const std::string text(reinterpret_cast<const char*>(data), size);
  ef::test::RefCsv ref;
  bool ref_ok = true;
  try {
    ref = ef::test::parse_csv_reference(text);
  } catch (const ef::Error&) {
    ref_ok = false;
  }
  // Tiny blocks and pieces, split however the input's first byte says: the cells must not depend
  // on where the blocks and pieces fall.
  ef::CsvReadOptions tiny;
  tiny.block_bytes = size ? 1 + data[0] % 16 : 1;
  tiny.pieces = size ? 1 + data[0] / 16 % 4 : 1;
  tiny.min_piece_bytes = size ? data[0] / 64 : 0;
  ef::CsvTable t, small;
  try {
    t = ef::parse_csv(text, "fuzz.csv");
  } catch (const ef::Error&) {
    if (ref_ok) fail("refused a table libcsv accepts");
    try {
      ef::parse_csv(text, "fuzz.csv", tiny);
    } catch (const ef::Error&) {
      return 0;
    }
    fail("accepted in tiny blocks a table it refuses in one block");
  }
  if (!ref_ok) fail("accepted a table libcsv refuses");
  if (t.header != ref.header) fail("header differs from libcsv's");
  for (size_t c = 0; c < t.cells.size(); ++c)
    if (!std::equal(t.cells[c].begin(), t.cells[c].end(), ref.cells[c].begin(), ref.cells[c].end()))
      fail("cells differ from libcsv's");
  try {
    small = ef::parse_csv(text, "fuzz.csv", tiny);
  } catch (const ef::Error& e) {
    fail("refused in tiny blocks a table it accepts in one block:", e.what());
  }
  if (small.header != t.header || small.cells != t.cells) fail("tiny blocks changed the cells");
  // Invariants promised by csv.hpp.
  if (t.header.empty()) fail("accepted a table with no columns");
  if (t.cells.size() != t.header.size()) fail("cells/header size mismatch");
  if (t.rows() == 0) fail("accepted a table with no data rows");
  std::set<std::string> names;
  for (auto& h : t.header) {
    if (h.empty()) fail("accepted an empty column name");
    if (!names.insert(h).second) fail("accepted a duplicate column name", h);
  }
  for (auto& col : t.cells)
    if (col.size() != t.rows()) fail("ragged columns accepted");
  for (auto& col : t.cells) infer(col);

  // Round trip: what csv_field writes must read back to the same cells.
  const std::string again = write(t);
  ef::CsvTable u;
  try {
    u = ef::parse_csv(again, "roundtrip.csv");
  } catch (const ef::Error& e) {
    fail("the rewritten table does not parse:", e.what());
  }
  if (u.header != t.header) fail("round trip changed the header");
  if (u.cells != t.cells) fail("round trip changed the cells");
  return 0;
}
