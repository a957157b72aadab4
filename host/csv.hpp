// CSV in and out. Reading (RFC 4180: quoted fields, embedded commas/quotes/newlines, CRLF, LF or
// CR line ends) goes through zlib's gzread, so plain and .gz files read the same way. The rules
// are libcsv's strict mode (tests/support/csv_reference.cpp keeps libcsv as the oracle the tests
// and fuzz_csv compare against): unquoted fields are trimmed of surrounding spaces and tabs, a
// quote inside an unquoted field or text after a closing quote is an error, blank lines are
// skipped, and the last row needs no line end. Only regular files are read (a FIFO or /dev/zero is
// refused at once). A UTF-8 byte-order mark is skipped; UTF-16 input and NUL bytes are refused.
//
// The reader takes the file a block (4 MiB) at a time, splits each block at row ends into pieces
// that are parsed in parallel (a row end is a line end with an even number of quotes before it
// in the block; a piece that does not end exactly where the next begins, or any error, makes the
// block be parsed again in one piece, so results and messages never depend on the split), and
// hands out cells as string_views into the block's bytes: no allocation per cell.
// Writing goes through OutputFile (output_file.hpp): a failure never leaves a partial output.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "output_file.hpp"

namespace ef {

// Column-major text table: cells[c][r] is row r (0-based data row) of column c, a view into one
// of the buffers in `text` (shared with the reader's other blocks; copying a CsvTable is cheap).
struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string_view>> cells;
  std::vector<std::shared_ptr<const std::string>> text;  // what the cells point into
  size_t rows() const { return cells.empty() ? 0 : cells[0].size(); }
};

// How the reader cuts its work (the defaults are for speed; tests make the blocks and pieces
// tiny to exercise the block and piece edges).
struct CsvReadOptions {
  size_t block_bytes = size_t(4) << 20;  // read per block
  int pieces = 0;                        // per block, parsed in parallel; 0: OpenMP's thread count
  size_t min_piece_bytes = size_t(256) << 10;  // smaller blocks are parsed in fewer pieces
  // Blocks with fewer bytes parse their pieces one after the other on the calling thread: an
  // OpenMP team costs more than parsing a few KiB, and on a loaded machine each barrier waits
  // for a descheduled worker (a 3.7 KB fuzz input cut into tiny blocks took seconds).
  size_t parallel_min_bytes = size_t(64) << 10;
};

// Whether a block of `bytes` cut into `pieces` pieces is parsed by an OpenMP team (true) or on
// the calling thread (false).
bool csv_parse_in_parallel(size_t bytes, size_t pieces, const CsvReadOptions& opt);

// Throws ef::Error naming the file (and row) on: unreadable file, empty file, no data rows
// (header only), duplicate or empty column names, ragged rows, malformed quoting, NUL bytes.
// header: column names for a file without a header row (null: the first row is the header).
CsvTable read_csv(const std::string& path, const std::vector<std::string>* header = nullptr,
                  const CsvReadOptions& opt = {});
// Parses CSV text already in memory (fuzzing, tests); `name` is used in messages.
CsvTable parse_csv(const std::string& text, const std::string& name, const CsvReadOptions& opt = {});

// Reads a CSV file a block of rows at a time (memory: about one block, not the file). The header
// is read and checked by the constructor. Same checks and messages as read_csv; row numbers in
// messages count from the start of the file.
class CsvReader {
 public:
  CsvReader(const std::string& path, const std::vector<std::string>* header = nullptr,
            const CsvReadOptions& opt = {});
  // In-memory text (parse_csv): `name` in messages.
  CsvReader(std::shared_ptr<const std::string> text, const std::string& name, const CsvReadOptions& opt = {});
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
bool csv_needs_quotes(std::string_view s);  // RFC 4180 and this reader's trimming and BOM rules
std::string csv_field(std::string_view s);

}  // namespace ef
