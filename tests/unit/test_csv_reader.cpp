// The CSV reader (host/csv.cpp) and the table reader's type inference (host/table.cpp), which the
// Python package shares for DataFrames (echoflow::infer_numeric_type).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <echoflow/echoflow.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "csv.hpp"
#include "csv_reference.hpp"

namespace {

// A CSV file in the temporary folder, removed at the end of the scope.
struct TempCsv {
  std::string path;
  explicit TempCsv(const std::string& text, const std::string& name = "ef_test_reader.csv")
      : path((std::filesystem::temp_directory_path() / name).string()) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempCsv() { std::remove(path.c_str()); }
};

std::string read_error(const std::string& text, const echoflow::ReadOptions& opt = {}) {
  TempCsv f(text);
  try {
    echoflow::read_table(f.path, opt);
  } catch (const ef::Error& e) {
    return e.what();
  }
  return "";
}

const double kNaN = std::nan("");

}  // namespace

TEST_CASE("csv: RFC 4180 quoting, CRLF, trimmed unquoted fields") {
  const ef::CsvTable t = ef::parse_csv("a,b\r\n\"x, y\",\" 2 \"\r\n\"q\"\"uote\",  3  \n\"multi\nline\",4\n", "mem");
  REQUIRE(t.header == std::vector<std::string>{"a", "b"});
  REQUIRE(t.rows() == 3);
  CHECK(t.cells[0][0] == "x, y");
  CHECK(t.cells[1][0] == " 2 ");  // quoted: kept as written
  CHECK(t.cells[0][1] == "q\"uote");
  CHECK(t.cells[1][1] == "3");  // unquoted: trimmed
  CHECK(t.cells[0][2] == "multi\nline");
  CHECK(ef::csv_field("a,b") == "\"a,b\"");
  CHECK(ef::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(ef::csv_field("plain") == "plain");
}

TEST_CASE("csv: malformed files are errors naming the file and row") {
  CHECK_THROWS_WITH_AS(ef::parse_csv("x,y\n1,2\n3\n", "r.csv"), doctest::Contains("r.csv: row 2"), ef::Error);
  CHECK_THROWS_WITH_AS(ef::parse_csv("x,x\n1,2\n", "d.csv"), doctest::Contains("duplicate column name \"x\""),
                       ef::Error);
  CHECK_THROWS_WITH_AS(ef::parse_csv("x,y\n", "h.csv"), doctest::Contains("no data rows"), ef::Error);
  CHECK_THROWS_WITH_AS(ef::parse_csv("", "e.csv"), doctest::Contains("e.csv"), ef::Error);
  CHECK_THROWS_WITH_AS(ef::parse_csv("x,y\n1,\"open\n", "q.csv"), doctest::Contains("q.csv"), ef::Error);
}

TEST_CASE("csv: the reader agrees with libcsv's strict mode, whatever the block and piece sizes") {
  // Random texts over the bytes that matter to CSV (quotes, separators, blanks, line ends), as
  // rows of fields some of which are quoted: most parse, some are malformed. Each must be
  // accepted or refused as libcsv does, with libcsv's cells, in one block or cut into tiny
  // blocks and pieces (the edges then fall inside fields, quotes and CRLF pairs).
  std::mt19937 rng(11);
  const std::string alphabet = "ab1 \t,\"\r\n";
  size_t accepted = 0, refused = 0;
  for (int it = 0; it < 3000; ++it) {
    std::string text;
    const int rows = 1 + int(rng() % 6), cols = 1 + int(rng() % 3);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        if (c) text += ',';
        const bool quoted = rng() % 3 == 0;
        if (quoted) text += rng() % 4 ? "\"" : " \"";
        for (int k = int(rng() % 5); k > 0; --k) {
          const char ch = alphabet[rng() % (rng() % 4 ? 4 : alphabet.size())];
          text += ch;
          if (quoted && ch == '"' && rng() % 8) text += '"';
        }
        if (quoted) text += rng() % 4 ? "\"" : "\" ";
      }
      if (r + 1 < rows || rng() % 2) text += rng() % 3 ? "\n" : rng() % 2 ? "\r\n" : "\r";
    }
    CAPTURE(text);
    bool ref_ok = true;
    ef::test::RefCsv ref;
    try {
      ref = ef::test::parse_csv_reference(text);
    } catch (const ef::Error&) {
      ref_ok = false;
    }
    for (size_t block : {size_t(1) << 20, size_t(1), size_t(2), size_t(3), size_t(7)}) {
      for (int pieces : {1, 2, 3}) {
        ef::CsvReadOptions o;
        o.block_bytes = block;
        o.pieces = pieces;
        o.min_piece_bytes = 1;
        CAPTURE(block);
        CAPTURE(pieces);
        bool ok = true;
        ef::CsvTable t;
        try {
          t = ef::parse_csv(text, "rand.csv", o);
        } catch (const ef::Error& e) {
          ok = false;
          CHECK(std::string(e.what()).rfind("rand.csv: ", 0) == 0);
        }
        REQUIRE(ok == ref_ok);
        if (!ok) continue;
        REQUIRE(t.header == ref.header);
        for (size_t c = 0; c < t.cells.size(); ++c)
          REQUIRE(std::equal(t.cells[c].begin(), t.cells[c].end(), ref.cells[c].begin(), ref.cells[c].end()));
      }
    }
    ++(ref_ok ? accepted : refused);
  }
  CHECK(accepted > 300);  // the generator exercises both outcomes
  CHECK(refused > 300);
}

TEST_CASE("csv: parallel pieces on a large quoted table, errors name the row and column") {
  std::string text = "id,note,x\n";
  for (int r = 0; r < 20000; ++r)
    text += std::to_string(r) + (r % 3 ? ",\"multi\nline, \"\"quoted\"\"\"," : ",plain,") + std::to_string(r * 0.5) + "\r\n";
  ef::CsvReadOptions o;
  o.pieces = 4;
  o.min_piece_bytes = 1000;
  o.block_bytes = 100000;
  REQUIRE(ef::csv_parse_in_parallel(o.block_bytes, 4, o));  // this case runs an OpenMP team
  const ef::CsvTable t = ef::parse_csv(text, "big.csv", o);
  REQUIRE(t.rows() == 20000);
  for (size_t r = 0; r < t.rows(); ++r) {
    REQUIRE(t.cells[0][r] == std::to_string(r));
    REQUIRE(t.cells[1][r] == (r % 3 ? "multi\nline, \"quoted\"" : "plain"));
  }
  // An error far into the file: the same row whatever the pieces.
  std::string bad = text;
  bad.insert(bad.find("\n15000,") + 1, "15000,x\"y,1\r\n");
  CHECK_THROWS_WITH_AS(ef::parse_csv(bad, "bad.csv", o), "bad.csv: row 15001, column \"note\": malformed CSV "
                       "(a quote inside an unquoted field, or text after a closing quote)", ef::Error);
  CHECK_THROWS_WITH_AS(ef::parse_csv(bad, "bad.csv"), doctest::Contains("bad.csv: row 15001, column \"note\""), ef::Error);
  std::string ragged = text;
  ragged.insert(ragged.find("\n12345,") + 1, "1,2\n");
  CHECK_THROWS_WITH_AS(ef::parse_csv(ragged, "r.csv", o), "r.csv: row 12346: 2 fields, but the header has 3", ef::Error);
  CHECK_THROWS_WITH_AS(ef::parse_csv("a,b\n1,\"open", "o.csv"),
                       doctest::Contains("o.csv: row 1, column \"b\": malformed CSV (a quoted field is not closed"),
                       ef::Error);
}

TEST_CASE("csv: small blocks parse on the calling thread, whatever the pieces") {
  // fuzz_csv cuts inputs of a few KB into blocks of 1-16 bytes and up to 4 pieces: an OpenMP
  // team per block made one input take seconds on a loaded machine (tiny blocks still exercise
  // the piece edges, parsed one after the other).
  ef::CsvReadOptions tiny;
  tiny.block_bytes = 7;
  tiny.pieces = 4;
  tiny.min_piece_bytes = 1;
  CHECK_FALSE(ef::csv_parse_in_parallel(3700, 4, tiny));
  CHECK_FALSE(ef::csv_parse_in_parallel(7, 4, tiny));
  CHECK_FALSE(ef::csv_parse_in_parallel(tiny.parallel_min_bytes - 1, 4, tiny));
  CHECK(ef::csv_parse_in_parallel(tiny.parallel_min_bytes, 4, tiny));
  const ef::CsvReadOptions def;
  CHECK(ef::csv_parse_in_parallel(def.block_bytes, 2, def));  // a full default block: 2 threads
  CHECK_FALSE(ef::csv_parse_in_parallel(def.block_bytes, 1, def));
  // The cells are the same either way.
  std::string text = "a,b\n";
  for (int r = 0; r < 5000; ++r) text += std::to_string(r) + ",\"x\n" + std::to_string(r) + "\"\n";
  ef::CsvReadOptions serial, team;
  serial.pieces = team.pieces = 3;
  serial.min_piece_bytes = team.min_piece_bytes = 1;
  team.parallel_min_bytes = 0;
  serial.parallel_min_bytes = SIZE_MAX;
  const ef::CsvTable a = ef::parse_csv(text, "s.csv", serial), b = ef::parse_csv(text, "t.csv", team);
  REQUIRE(a.rows() == 5000);
  CHECK(a.cells == b.cells);
  CHECK(a.cells[1][4321] == "x\n4321");
}

TEST_CASE("csv: the inference rule for numbers") {
  using echoflow::infer_numeric_type;
  using T = echoflow::ColumnType;
  const std::vector<double> whole{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
  CHECK(infer_numeric_type(whole.data(), whole.size(), 10) == T::Integer);
  std::vector<double> frac = whole;
  frac[3] = 4.5;
  CHECK(infer_numeric_type(frac.data(), frac.size(), 10) == T::Continuous);
  // Few distinct values, at most half as many as present values: categorical.
  const std::vector<double> levels{2007, 2008, 2009, 2007, 2008, 2009, kNaN};
  CHECK(infer_numeric_type(levels.data(), levels.size(), 10) == T::Categorical);
  CHECK(infer_numeric_type(levels.data(), levels.size(), 2) == T::Integer);   // 3 levels > 2
  CHECK(infer_numeric_type(levels.data(), levels.size(), 0) == T::Integer);   // 0: off
  // Distinct values more than half the present ones: not categorical.
  const std::vector<double> few{1.5, 2.5, 3.5};
  CHECK(infer_numeric_type(few.data(), few.size(), 10) == T::Continuous);
  const std::vector<double> none{kNaN, kNaN};
  CHECK(infer_numeric_type(none.data(), none.size(), 10) == T::Categorical);
  // Whole but beyond exact doubles' integers: continuous.
  std::vector<double> huge = whole;
  huge[0] = 1e16;
  CHECK(infer_numeric_type(huge.data(), huge.size(), 10) == T::Continuous);
}

TEST_CASE("csv: read_table infers types, reads missing tokens, names bad cells") {
  std::string text = "cont,whole,year,word,mixed\n";
  for (int r = 0; r < 24; ++r)
    text += std::to_string(r) + ".25," + std::to_string(r * 3) + "," + std::to_string(2007 + r % 3) + "," +
            (r % 2 ? "a" : "b") + "," + (r == 5 ? "?" : r == 7 ? "x" : std::to_string(r)) + "\n";
  TempCsv f(text);
  const echoflow::Table t = echoflow::read_table(f.path, {});
  REQUIRE(t.columns.size() == 5);
  CHECK(t.columns[0].type == echoflow::ColumnType::Continuous);
  CHECK(t.columns[0].values[3] == 3.25);
  CHECK(t.columns[1].type == echoflow::ColumnType::Integer);
  CHECK(t.columns[1].values[4] == 12);
  CHECK(t.columns[2].type == echoflow::ColumnType::Categorical);  // 3 years in 24 rows
  CHECK(t.columns[2].labels[1] == "2008");
  CHECK(t.columns[3].type == echoflow::ColumnType::Categorical);
  CHECK(t.columns[4].type == echoflow::ColumnType::Categorical);  // "x" is not a number
  CHECK(t.columns[4].is_missing(5));                               // "?" is a missing token
  CHECK(t.columns[4].missing_token == "?");
  CHECK(!t.columns[4].is_missing(7));

  echoflow::ReadOptions o;
  o.types["year"] = echoflow::ColumnType::Integer;
  o.categorical_max_levels = 0;
  const echoflow::Table t2 = echoflow::read_table(f.path, o);
  CHECK(t2.columns[2].type == echoflow::ColumnType::Integer);
  CHECK(t2.columns[2].values[2] == 2009);

  CHECK(read_error("x,y\n1,2\n3,abc\n", [] {
          echoflow::ReadOptions r;
          r.types["y"] = echoflow::ColumnType::Continuous;
          return r;
        }()).find("row 2, column \"y\": \"abc\" is not a finite number") != std::string::npos);
  CHECK(read_error("x,y\n1,2\n3,4.5\n", [] {
          echoflow::ReadOptions r;
          r.types["y"] = echoflow::ColumnType::Integer;
          return r;
        }()).find("row 2, column \"y\": \"4.5\" is not a whole number") != std::string::npos);
  CHECK(read_error("x\n1\n2\n", [] {
          echoflow::ReadOptions r;
          r.types["z"] = echoflow::ColumnType::Integer;
          return r;
        }()).find("column \"z\" is missing") != std::string::npos);
}

TEST_CASE("csv: the shipped penguins table reads with the expected types") {
  const echoflow::Table t = echoflow::read_table(EF_SOURCE_DIR "/tests/data/penguins.csv", {});
  CHECK(t.rows() == 344);
  std::map<std::string, echoflow::ColumnType> types;
  for (auto& c : t.columns) types[c.name] = c.type;
  CHECK(types.at("species") == echoflow::ColumnType::Categorical);
  CHECK(types.at("year") == echoflow::ColumnType::Categorical);  // 3 distinct years
  CHECK(types.at("body_mass_g") == echoflow::ColumnType::Integer);
  CHECK(types.at("bill_length_mm") == echoflow::ColumnType::Continuous);
}
