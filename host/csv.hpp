// CSV in and out. Reading uses libcsv (RFC 4180: quoted fields, embedded commas/quotes/newlines,
// CRLF or LF) through zlib's gzread, so plain and .gz files read the same way. Unquoted fields
// are trimmed of surrounding spaces. Writing goes to a temporary file renamed at the end, so a
// failure never leaves a partial output.
#pragma once
#include <string>
#include <vector>

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

// Quotes a field when RFC 4180 needs it.
std::string csv_field(const std::string& s);

// Writes `content` to path via a temporary file in the same folder and an atomic rename.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace ef
