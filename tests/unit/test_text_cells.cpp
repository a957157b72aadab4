// Issue 14: an in-memory table (C++ and Python APIs) whose text holds a NUL byte is refused
// when it is fitted (Python: when the column is added), with the column and row: its CSV copy,
// and the CSV of rows drawn from it, would not read back (the reader refuses NUL bytes).
#include <echoflow/echoflow.hpp>

#include <string>

#include "test_util.hpp"
#include "text_cells.hpp"

using echoflow::Column;
using echoflow::Table;

namespace {
Table with_labels(std::vector<std::string> labels) {
  Table t;
  std::vector<double> x;
  for (size_t r = 0; r < labels.size(); ++r) x.push_back(double(r % 7));
  t.columns.push_back(Column::numeric("x", x));
  t.columns.push_back(Column::categorical("c", std::move(labels)));
  return t;
}
}  // namespace

TEST_CASE("check_text_cells: a NUL byte in a label, a column name or a missing token is refused") {
  CHECK_NOTHROW(ef::check_text_cells(Column::categorical("c", {"a", "b\xc3\xa9", ""}), "t"));
  CHECK_THROWS_WITH_AS(ef::check_text_cells(Column::categorical("c", {"a", "a", std::string("b\0c", 3)}), "t"),
                       doctest::Contains("t: column \"c\", row 3: the label \"b\\0c\" has a NUL byte"), ef::Error);
  CHECK_THROWS_WITH_AS(ef::check_text_cells(Column::numeric(std::string("x\0", 2), {1.0}), "t"),
                       doctest::Contains("column name \"x\\0\" has a NUL byte"), ef::Error);
  Column m = Column::categorical("c", {"a", "b"});
  m.missing_token = std::string("\0", 1);
  CHECK_THROWS_WITH_AS(ef::check_text_cells(m, "t"), doctest::Contains("column \"c\": the missing token has a NUL"),
                       ef::Error);
  // A missing cell's label is not text the table holds.
  Column miss = Column::categorical("c", {"a", std::string("\0", 1)});
  miss.missing = {0, 1};
  CHECK_NOTHROW(ef::check_text_cells(miss, "t"));
}

TEST_CASE("Model::fit refuses a table whose label holds a NUL byte, naming the column and row") {
  std::vector<std::string> labels;
  for (int r = 0; r < 40; ++r) labels.push_back(r % 2 ? "odd" : "even");
  labels[17] = std::string("od\0d", 4);
  CHECK_THROWS_WITH_AS(echoflow::Model::fit(with_labels(labels), echoflow::FitOptions()),
                       doctest::Contains("column \"c\", row 18: the label \"od\\0d\" has a NUL byte"), ef::Error);
}
