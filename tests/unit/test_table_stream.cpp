// Streaming tables and output files: exact number round trips, block-size independence of
// sample/score/CSV reading, output files that never show partial data or follow symlinks.
#include <echoflow/echoflow.hpp>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <random>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csv.hpp"
#include "number_text.hpp"
#include "output_file.hpp"
#include "score_stream.hpp"
#include "table_stream.hpp"
#include "test_util.hpp"

using echoflow::Column;
using echoflow::Table;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_dir() {
  char tmpl[] = "/tmp/ef_stream_XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

Table mixed_table(size_t n) {
  std::vector<double> x, k;
  std::vector<std::string> c;
  for (size_t i = 0; i < n; ++i) {
    const double z = ef::math::rand_normal(11, 1, i);
    x.push_back(std::exp(2 * z) * (i % 2 ? 1 : -1));
    k.push_back(std::floor(5 + 3 * ef::math::rand_normal(11, 2, i)));
    c.push_back(z > 0.5 ? "hi, \"quoted\"" : z < -0.5 ? " lo" : "mid");
  }
  Table t;
  t.columns = {Column::numeric("x", x), Column::numeric("k", k, ef::ColumnType::Integer),
               Column::categorical("c", c)};
  return t;
}

echoflow::FitOptions quick() {
  echoflow::FitOptions o;
  o.flow.layers = 2;
  o.flow.hidden = {16};
  o.train.epochs = 1;
  o.train.batch_size = 128;
  o.device = "cpu";
  return o;
}

}  // namespace

TEST_CASE("numbers written by write_table read back bit-identical") {
  std::vector<double> v = {0.1, 1.0 / 3, -2.5e-300, 1.7976931348623157e308, 4.9406564584124654e-320 * 1e16,
                           123456789.123456789, -0.0, 1e22, 5e-324 * 1e300, 3.0};
  for (size_t i = 0; i < 2000; ++i) v.push_back(std::ldexp(ef::math::rand_normal(5, 0, i), int(i % 200) - 100));
  Table t;
  t.columns = {Column::numeric("v", v)};
  const std::string d = temp_dir();
  echoflow::write_table(t, d + "/v.csv");
  echoflow::ReadOptions ro;
  ro.types["v"] = ef::ColumnType::Continuous;
  Table r = echoflow::read_table(d + "/v.csv", ro);
  REQUIRE(r.rows() == v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(std::memcmp(&r.columns[0].values[i], &v[i], sizeof(double)) == 0);
  }
  fs::remove_all(d);
}

TEST_CASE("format_double writes std::to_chars' bytes") {
  // The writer's formatter (Dragonbox digits, to_chars' layout) against the standard library on
  // every kind of double: random bit patterns (every exponent, subnormals, inf/nan), decimal
  // values of every magnitude, whole numbers around 2^53, and the %f / %e length ties.
  std::mt19937_64 rng(5);
  size_t n = 0;
  const auto same = [&](double v) {
    char a[64], b[64];
    const char* ea = std::to_chars(a, a + sizeof a, v).ptr;
    const char* eb = ef::format_double(b, v);
    const std::string sa(a, size_t(ea - a)), sb(b, size_t(eb - b));
    ++n;
    if (sa != sb) {
      FAIL_CHECK(sa << " written as " << sb);
      return false;
    }
    return true;
  };
  for (int i = 0; i < 400000; ++i) {
    const uint64_t u = rng();
    double v;
    std::memcpy(&v, &u, sizeof v);
    if (!same(v)) break;
  }
  std::normal_distribution<double> normal;
  for (int i = 0; i < 100000; ++i) {
    const double v = normal(rng) * std::pow(10.0, int(rng() % 40) - 20);
    if (!same(v) || !same(std::round(v)) || !same(double(float(v)))) break;
  }
  for (int e = -325; e <= 309; ++e)
    for (int d = 1; d < 200; d += 7) {
      const double v = d * std::pow(10.0, e);
      if (!same(v) || !same(std::nextafter(v, 0.0)) || !same(-v)) break;
    }
  for (double v : {0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 9007199254740991.0,
                   9007199254740992.0, 123456.0, 1234567.0, 1e-5, 0.0001, 123e5, 1e21, 1e22})
    same(v);
  CHECK(n > 600000);
}

TEST_CASE("parse_number: decimal numbers only, finite, in range") {
  double v = 0;
  CHECK((echoflow::parse_number("+1.5", v) && v == 1.5));
  CHECK((echoflow::parse_number("-2e3", v) && v == -2000));
  CHECK((echoflow::parse_number(".5", v) && v == 0.5));
  for (const char* bad : {"", "+", "+-1", "1e999", "inf", "nan", "-inf", "1,5", "1.5x", " 1", "abc"})
    CHECK_MESSAGE(!echoflow::parse_number(bad, v), bad);
}

TEST_CASE("CSV: the bytes do not depend on the block size or the thread count, RFC 4180 quoting") {
  const Table t = mixed_table(20000);
  std::string whole = echoflow::format_header(t);
  echoflow::format_rows(t, 0, t.rows(), whole);
  const std::string d = temp_dir();
  echoflow::write_table(t, d + "/w.csv");  // parallel pieces
  CHECK(slurp(d + "/w.csv") == whole);
  {
    echoflow::TableWriter w(d + "/b.csv");
    for (size_t r0 = 0; r0 < t.rows(); r0 += 777) {
      Table b;
      for (auto& c : t.columns) {
        Column bc = c;
        const size_t r1 = std::min(t.rows(), r0 + 777);
        if (c.type == ef::ColumnType::Categorical)
          bc.labels.assign(c.labels.begin() + long(r0), c.labels.begin() + long(r1));
        else
          bc.values.assign(c.values.begin() + long(r0), c.values.begin() + long(r1));
        b.columns.push_back(bc);
      }
      w.write(b);
    }
    CHECK(!fs::exists(d + "/b.csv"));  // nothing visible before commit
    w.commit();
  }
  CHECK(slurp(d + "/b.csv") == whole);
  CHECK(whole.find("\"hi, \"\"quoted\"\"\"") != std::string::npos);
  CHECK(whole.find("\" lo\"") != std::string::npos);
  // Read back in small blocks: the same cells as at once, row numbers continue across blocks.
  ef::CsvTable all = ef::read_csv(d + "/b.csv");
  ef::CsvReader rd(d + "/b.csv");
  ef::CsvTable blk;
  size_t rows = 0;
  while (rd.next(blk, 1000)) {
    REQUIRE(rd.first_row() == rows);
    REQUIRE(blk.rows() == std::min<size_t>(1000, t.rows() - rows));
    for (size_t r = 0; r < blk.rows(); ++r)
      for (size_t c = 0; c < 3; ++c) REQUIRE(blk.cells[c][r] == all.cells[c][rows + r]);
    rows += blk.rows();
  }
  CHECK(rows == t.rows());
  fs::remove_all(d);
}

TEST_CASE("CSV reader: UTF-8 BOM skipped, UTF-16 refused, block row numbers in messages") {
  const std::string d = temp_dir();
  std::ofstream(d + "/bom.csv") << "\xef\xbb\xbfx,y\n1,2\n";
  CHECK(ef::read_csv(d + "/bom.csv").header[0] == "x");
  // A first name that itself starts with U+FEFF (after the file's BOM) is written quoted, so it
  // does not read back as a byte-order mark (found by fuzz_csv's round trip).
  std::ofstream(d + "/bom2.csv") << "\xef\xbb\xbf\xef\xbb\xbfx,y\n1,2\n";
  const ef::CsvTable two = ef::read_csv(d + "/bom2.csv");
  REQUIRE(two.header[0] == "\xef\xbb\xbfx");
  CHECK(ef::csv_field(two.header[0]) == "\"\xef\xbb\xbfx\"");
  std::ofstream(d + "/bom3.csv") << ef::csv_field(two.header[0]) << ",y\n1,2\n";
  CHECK(ef::read_csv(d + "/bom3.csv").header[0] == two.header[0]);
  // Likewise a field opening with UTF-16's byte-order marks (fuzz_csv: the reader refused the copy).
  CHECK(ef::csv_field("\xff\xfex") == "\"\xff\xfex\"");
  CHECK(ef::csv_field("\xfe\xffx") == "\"\xfe\xffx\"");
  std::ofstream(d + "/u16.csv") << std::string("\xff\xfex\0,\0y\0\n\0", 10);
  CHECK_THROWS_WITH(ef::read_csv(d + "/u16.csv"), doctest::Contains("UTF-16 is not supported"));
  // A NUL byte anywhere is refused with its row (fuzz_csv: a name "\x01\0..." was accepted, then
  // its written copy looked like UTF-16 to the reader).
  std::ofstream(d + "/nul.csv") << std::string("x,y\n1,2\n3,\0\n", 13);
  CHECK_THROWS_WITH(ef::read_csv(d + "/nul.csv"), doctest::Contains("nul.csv: row 2: a NUL byte"));
  std::ofstream(d + "/nulh.csv") << std::string("xy\0,z\n1,2\n", 11);
  CHECK_THROWS_WITH(ef::read_csv(d + "/nulh.csv"), doctest::Contains("nulh.csv: header: a NUL byte"));
  {
    std::ofstream f(d + "/bad.csv");
    f << "x\n";
    for (int i = 0; i < 5000; ++i) f << i << "\n";
    f << "oops\n";
  }
  echoflow::ReadOptions ro;
  ro.types["x"] = ef::ColumnType::Continuous;
  echoflow::TableReader tr(d + "/bad.csv", ro);
  Table b;
  CHECK_THROWS_WITH(while (tr.next(b, 100)) {}, doctest::Contains("row 5001, column \"x\""));
  fs::remove_all(d);
}

TEST_CASE("TableReader: numeric columns read in row tiles equal read_table, errors in column order") {
  const std::string d = temp_dir();
  const int n = 20000;  // past the reader's parallel threshold: many 256-row tiles, two threads
  {
    std::ofstream f(d + "/t.csv");
    f << "a,skip,b,c,i\n";
    for (int r = 0; r < n; ++r)
      f << (r * 0.37 - 1000.125) << ",z" << r << "," << (r % 7 == 0 ? std::string("NA") : std::to_string(r * 1e-3))
        << ",lab" << r % 5 << "," << r % 11 - 5 << "\n";
  }
  echoflow::ReadOptions ro;
  ro.types = {{"a", ef::ColumnType::Continuous}, {"b", ef::ColumnType::Continuous},
              {"c", ef::ColumnType::Categorical}, {"i", ef::ColumnType::Integer}};
  ro.missing_tokens = {"NA", "", "-1"};  // "-1" parses as a number: only the token check marks it
  const Table whole = echoflow::read_table(d + "/t.csv", ro);
  for (size_t block : {size_t(n), size_t(4096)}) {
    CAPTURE(block);
    echoflow::TableReader tr(d + "/t.csv", ro);
    Table b;
    size_t r0 = 0;
    while (tr.next(b, block)) {
      REQUIRE(b.columns.size() == 4);  // "skip" is not declared
      for (const Column& c : b.columns) {
        CAPTURE(c.name);
        const Column& w = whole.columns[size_t(whole.find(c.name))];
        REQUIRE(c.type == w.type);
        REQUIRE(c.size() == std::min<size_t>(block, size_t(n) - r0));
        REQUIRE(c.missing_token == w.missing_token);
        REQUIRE(c.missing.empty() == w.missing.empty());
        for (size_t r = 0; r < c.size(); ++r) {
          REQUIRE(c.is_missing(r) == w.is_missing(r0 + r));
          if (c.type == ef::ColumnType::Categorical)
            REQUIRE(c.labels[r] == w.labels[r0 + r]);
          else if (!c.is_missing(r))
            REQUIRE(c.values[r] == w.values[r0 + r]);
        }
      }
      r0 += b.rows();
    }
    CHECK(r0 == size_t(n));
  }
  CHECK(!whole.columns[size_t(whole.find("b"))].missing.empty());  // the missing-token path ran
  CHECK(!whole.columns[size_t(whole.find("i"))].missing.empty());
  // A bad cell: the first column with one is reported (column order, as read_table), not the
  // first row with one; a fraction in an integer column is refused.
  {
    std::ofstream f(d + "/bad.csv");
    f << "a,b\n";
    for (int r = 0; r < n; ++r) f << (r == 15000 ? std::string("x1") : std::to_string(r)) << "," << (r == 10 ? "2.5" : std::to_string(r)) << "\n";
  }
  echoflow::ReadOptions rb;
  rb.types = {{"a", ef::ColumnType::Continuous}, {"b", ef::ColumnType::Integer}};
  {
    echoflow::TableReader tr(d + "/bad.csv", rb);
    Table b;
    CHECK_THROWS_WITH(while (tr.next(b, size_t(n))) {}, doctest::Contains("row 15001, column \"a\": \"x1\" is not a finite number"));
  }
  rb.types.erase("a");
  {
    echoflow::TableReader tr(d + "/bad.csv", rb);
    Table b;
    CHECK_THROWS_WITH(while (tr.next(b, size_t(n))) {}, doctest::Contains("row 11, column \"b\": \"2.5\" is not a whole number"));
  }
  fs::remove_all(d);
}

TEST_CASE("sample_blocks and block-wise score equal one-shot sample and score") {
  const Table data = mixed_table(600);
  echoflow::Model m = echoflow::Model::fit(data, quick());
  const Table whole = m.sample(20000, {}, 9);
  std::string a, b;
  echoflow::format_rows(whole, 0, whole.rows(), a);
  size_t blocks = 0;
  m.sample_blocks(20000, {}, 9, 1, [&](Table& t) {
    ++blocks;
    echoflow::format_rows(t, 0, t.rows(), b);
  });
  CHECK(blocks > 1);
  CHECK(a == b);
  // Blocks are multiples of score's internal 4096-row batch (as eftrain's are): the BLAS calls
  // then see the same batches, and the noise draws follow the row's index in the whole table.
  const std::vector<double> s = m.score(whole);
  for (size_t r0 = 0; r0 + 8192 <= whole.rows(); r0 += 8192) {
    Table part;
    for (auto& c : whole.columns) {
      Column pc = c;
      if (c.type == ef::ColumnType::Categorical)
        pc.labels.assign(c.labels.begin() + long(r0), c.labels.begin() + long(r0 + 8192));
      else
        pc.values.assign(c.values.begin() + long(r0), c.values.begin() + long(r0 + 8192));
      part.columns.push_back(pc);
    }
    const std::vector<double> sp = m.score(part, r0);
    for (size_t r = 0; r < sp.size(); ++r) REQUIRE(sp[r] == s[r0 + r]);
  }
}

TEST_CASE("score_csv: the bytes do not depend on the block sizes or the thread count, a bad row late in the file") {
  const Table data = mixed_table(600);
  echoflow::Model m = echoflow::Model::fit(data, quick());
  const Table big = m.sample(9000, {}, 3);  // an integer column: scores average noise drawn by row index
  const std::string d = temp_dir();
  echoflow::write_table(big, d + "/in.csv");
  std::string want = "log_prob\n";
  char b[32];
  for (double v : m.score(big)) {
    want.append(b, std::to_chars(b, b + sizeof b, v).ptr);
    want += '\n';
  }
  const int threads = omp_get_max_threads();
  struct Case {
    size_t first, block;
    int threads;
  };
  // Many blocks read ahead on the reader thread, blocks that are not multiples of the score
  // chunk, one block for the whole file; 1 and 2 threads.
  for (const Case c : {Case{2048, 16384, 2}, Case{512, 1024, 2}, Case{512, 1024, 1}, Case{1000, 3000, 2},
                       Case{100000, 100000, 1}}) {
    CAPTURE(c.first);
    CAPTURE(c.block);
    CAPTURE(c.threads);
    omp_set_num_threads(c.threads);
    echoflow::score_csv(m, d + "/in.csv", d + "/out.csv", {c.first, c.block});
    CHECK(slurp(d + "/out.csv") == want);
  }
  omp_set_num_threads(threads);
  // A bad value in row 8,001 (block 9 of 512, 1024, 1024...: read while block 8 is scored): the
  // exact error, and neither an output file nor a temporary is left.
  {
    std::istringstream in(slurp(d + "/in.csv"));
    std::ofstream bad(d + "/bad.csv");
    std::string line;
    for (size_t k = 0; std::getline(in, line); ++k)
      bad << (k == 8001 ? "abc" + line.substr(line.find(',')) : line) << '\n';
  }
  const std::string msg = d + "/bad.csv: row 8001, column \"x\": \"abc\" is not a finite number";
  for (const size_t first : {size_t(512), size_t(2048)}) {
    CAPTURE(first);
    CHECK_THROWS_WITH(echoflow::score_csv(m, d + "/bad.csv", d + "/bad_out.csv", {first, 1024}),
                      doctest::Contains(msg.c_str()));
    CHECK(!fs::exists(d + "/bad_out.csv"));
    size_t files = 0;
    for (auto& e : fs::directory_iterator(d)) files += e.path().filename() != "bad_out.csv";
    CHECK(files == 3);  // in.csv, out.csv, bad.csv: no temporary left
  }
  fs::remove_all(d);
}

TEST_CASE("OutputFile: nothing visible before commit, discarded on error, symlinks replaced not followed") {
  for (int named = 0; named < 2; ++named) {
    CAPTURE(named);
    if (named) ::setenv("EF_OUTPUT_NO_TMPFILE", "1", 1);
    const std::string d = temp_dir();
    std::ofstream(d + "/victim") << "victim";
    fs::create_symlink(d + "/victim", d + "/out");
    {
      ef::OutputFile f(d + "/out");
      CHECK(f.unnamed() == !named);
      f.write("new data");
      size_t entries = 0;
      for (auto& e : fs::directory_iterator(d)) entries += e.path().filename() != "victim" && e.path().filename() != "out";
      CHECK(entries == size_t(named));  // the fallback's temporary name, or nothing at all
      f.commit();
    }
    CHECK(slurp(d + "/victim") == "victim");
    CHECK(!fs::is_symlink(d + "/out"));
    CHECK(slurp(d + "/out") == "new data");
    {
      ef::OutputFile f(d + "/gone");
      f.write(std::string(3 << 20, 'x'));  // past the buffer: data reaches the file
    }  // destroyed without commit
    CHECK(!fs::exists(d + "/gone"));
    size_t n = 0;
    for (auto& e : fs::directory_iterator(d)) n += e.path().filename() != "victim";
    CHECK(n == 1);  // only "out": no temporary left
    fs::remove_all(d);
    ::unsetenv("EF_OUTPUT_NO_TMPFILE");
  }
  CHECK_THROWS_WITH(ef::OutputFile("/nonexistent-dir/x.csv"), doctest::Contains("cannot write"));
}
