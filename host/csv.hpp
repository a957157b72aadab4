// CSV in and out. Reading uses libcsv (RFC 4180: quoted fields, embedded commas/quotes/newlines,
// CRLF or LF) through zlib's gzread, so plain and .gz files read the same way. Unquoted fields
// are trimmed of surrounding spaces. Only regular files are read (a FIFO or /dev/zero is refused
// at once). A UTF-8 byte-order mark is skipped; UTF-16 input is refused with a message saying so.
// Writing goes through OutputFile (output_file.hpp): a failure never leaves a partial output.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "output_file.hpp"

namespace ef {

// Column-major text table: cells[c][r] is row r (0-based data row) of column c.
struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;
  size_t rows() const { return cells.empty() ? 0 : cells[0].size(); }
};

// Throws ef::Error naming the file (and row) on: unreadable file, empty file, no data rows
// (header only), duplicate or empty column names, ragged rows, malformed quoting.
// header: column names for a file without a header row (null: the first row is the header).
CsvTable read_csv(const std::string& path, const std::vector<std::string>* header = nullptr);
// Parses CSV text already in memory (fuzzing, tests); `name` is used in messages.
CsvTable parse_csv(const std::string& text, const std::string& name);

// Reads a CSV file a block of rows at a time (memory: one block, not the file). The header is
// read and checked by the constructor. Same checks and messages as read_csv; row numbers in
// messages count from the start of the file.
class CsvReader {
 public:
  CsvReader(const std::string& path, const std::vector<std::string>* header = nullptr);
  ~CsvReader();
  const std::vector<std::string>& header() const;
  // Replaces `out` with the next min(max_rows, rows left) rows. Returns false when no rows are
  // left. The first data row of the block is data row first_row() (0-based).
  bool next(CsvTable& out, size_t max_rows);
  size_t first_row() const { return first_row_; }

 private:
  struct State;
  std::unique_ptr<State> st_;
  size_t first_row_ = 0;
};

// Quotes a field when RFC 4180 needs it.
bool csv_needs_quotes(const std::string& s);  // RFC 4180 and this reader's trimming and BOM rules
std::string csv_field(const std::string& s);

}  // namespace ef
