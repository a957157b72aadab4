// Tables in and out a block of rows at a time, so `sample` and `score` use memory for one block
// whatever the number of rows. Numbers are written in the shortest form that reads back to the
// same double (std::to_chars), integer columns as whole numbers, and read with std::from_chars:
// write -> read gives bit-identical values.
#pragma once
#include <echoflow/echoflow.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "csv.hpp"
#include "output_file.hpp"

namespace echoflow {

// Appends the CSV lines of rows [r0, r1) of t to out.
void format_rows(const Table& t, size_t r0, size_t r1, std::string& out);
// The header line of t.
std::string format_header(const Table& t);

// Writes a CSV through an OutputFile: nothing is visible until commit(). Every block must have
// the first block's columns; the header is written with the first block. Blocks are formatted
// in parallel pieces (OpenMP threads), so the bytes do not depend on the thread count or on how
// the rows are split into blocks.
class TableWriter {
 public:
  explicit TableWriter(const std::string& path) : f_(path) {}
  void write(const Table& block);
  void commit();

 private:
  ef::OutputFile f_;
  bool header_done_ = false;
  std::vector<std::string> parts_;
};

// Missing-value tokens, matched by length, then bytes (a std::set lookup per cell cost more than
// parsing the number).
struct MissingTokens {
  explicit MissingTokens(const std::vector<std::string>& tokens);
  std::vector<std::string> list;  // sorted, without duplicates
  size_t max_len = 0;
  int find(std::string_view s) const {  // index in list, or -1
    if (s.size() > max_len) return -1;
    for (size_t k = 0; k < list.size(); ++k)
      if (list[k] == s) return int(k);
    return -1;
  }
};

// Reads a CSV a block at a time, keeping only the columns declared in opt.types (read with
// those types; other columns are skipped). Messages name the file, the row counted from the
// start of the file, and the column, as read_table's do.
class TableReader {
 public:
  // csv: how the text is cut and parsed (host/csv.hpp); the values and errors do not depend on it.
  TableReader(const std::string& path, const ReadOptions& opt, const ef::CsvReadOptions& csv = {});
  // The next block of min(max_rows, rows left) rows; false when none are left.
  bool next(Table& out, size_t max_rows);
  size_t first_row() const { return reader_.first_row(); }  // 0-based data row of out's first row

 private:
  std::string path_;
  ef::CsvReader reader_;
  ReadOptions opt_;
  MissingTokens tokens_;
  std::vector<int> keep_;  // file columns kept, in file order
  ef::CsvTable cells_;
};

// Parses a decimal number (std::from_chars; a leading '+' is accepted); false for anything
// else, for values out of double range and for inf/nan.
bool parse_number(std::string_view s, double& out, bool* non_finite = nullptr);

}  // namespace echoflow
