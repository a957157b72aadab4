#include "csv.hpp"

#include <csv.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <cstdint>
#include <set>
#include <unistd.h>

#include "error.hpp"

namespace ef {
namespace {

struct ParseState {
  const std::string* name;
  std::vector<std::string> row;
  std::vector<std::string> header;
  CsvTable* table = nullptr;  // receives the data rows
  size_t record = 0;  // 0 = header
  std::string error;
};

void on_field(void* s, size_t len, void* data) {
  auto* st = static_cast<ParseState*>(data);
  st->row.emplace_back(static_cast<const char*>(s), len);
}

void on_row(int, void* data) {
  auto* st = static_cast<ParseState*>(data);
  if (!st->error.empty()) {
    st->row.clear();
    return;
  }
  if (st->record == 0) {
    std::set<std::string> seen;  // O(n log n) in the number of columns
    for (size_t c = 0; c < st->row.size(); ++c) {
      const std::string& h = st->row[c];
      if (h.empty())
        st->error = detail::cat(*st->name, ": header: column ", c + 1, " has an empty name");
      else if (!seen.insert(h).second)
        st->error = detail::cat(*st->name, ": header: duplicate column name \"", h, "\"");
    }
    st->header = st->row;
    if (st->table) {
      st->table->header = st->row;
      st->table->cells.assign(st->row.size(), {});
    }
  } else if (st->row.size() != st->header.size()) {
    st->error = detail::cat(*st->name, ": row ", st->record, ": ", st->row.size(),
                            " fields, but the header has ", st->header.size());
  } else {
    for (size_t c = 0; c < st->row.size(); ++c) st->table->cells[c].push_back(std::move(st->row[c]));
  }
  ++st->record;
  st->row.clear();
}

class Parser {
 public:
  // header: the column names when the file has no header row (null: the first row is it).
  Parser(const std::string& name, const std::vector<std::string>* header = nullptr) {
    st_.name = &name;
    if (header) {
      st_.row = *header;
      on_row(0, &st_);  // validates names (duplicates, empty) exactly like a header row
      check();
    }
    if (csv_init(&p_, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
      EF_THROW(name, ": cannot initialize the CSV parser");
  }
  ~Parser() { csv_free(&p_); }
  // Rows parsed from now on go to t (which gets the header and one cell list per column).
  void attach(CsvTable& t) {
    st_.table = &t;
    t.header = st_.header;
    t.cells.assign(st_.header.size(), {});
  }
  void feed(const char* buf, size_t n) {
    if (first_) {
      first_ = false;
      const auto* u = reinterpret_cast<const unsigned char*>(buf);
      // UTF-16: a byte-order mark, or ASCII text with zero high bytes.
      if ((n >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff))) ||
          (n >= 2 && ((u[0] != 0 && u[1] == 0) || (u[0] == 0 && u[1] != 0))))
        EF_THROW(*st_.name, ": UTF-16 is not supported, convert the file to UTF-8");
      if (n >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {  // UTF-8 byte-order mark
        buf += 3;
        n -= 3;
      }
    }
    // A NUL byte is never text: refused (UTF-16 without a byte-order mark ends here too), so every
    // file the reader accepts is one the writer can reproduce.
    if (const void* z = std::memchr(buf, 0, n)) {
      const size_t at = size_t(static_cast<const char*>(z) - buf);
      const size_t row = st_.record + size_t(std::count(buf, buf + at, '\n'));
      EF_THROW(*st_.name, ": ", row == 0 ? std::string("header") : "row " + std::to_string(row),
               ": a NUL byte (not a UTF-8 text file; UTF-16 is not supported, convert the file to UTF-8)");
    }
    if (csv_parse(&p_, buf, n, on_field, on_row, &st_) != n) fail();
    check();
  }
  void finish() {
    if (csv_fini(&p_, on_field, on_row, &st_) != 0) fail();
    check();
    if (st_.record == 0) EF_THROW(*st_.name, ": the file is empty (no header)");
    if (st_.record == 1) EF_THROW(*st_.name, ": the file has no data rows");
  }
  size_t records() const { return st_.record; }
  const std::vector<std::string>& header() const { return st_.header; }

 private:
  void fail() {
    EF_THROW(*st_.name, ": row ", st_.record, ": malformed CSV (", csv_strerror(csv_error(&p_)),
             ")");
  }
  void check() {
    if (!st_.error.empty()) EF_THROW(st_.error);
  }
  csv_parser p_{};
  ParseState st_;
  bool first_ = true;
};

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable t;
  t.path = name;
  Parser p(name);
  p.attach(t);
  p.feed(text.data(), text.size());
  p.finish();
  return t;
}

struct CsvReader::State {
  std::string path;
  gzFile f = nullptr;
  std::unique_ptr<Parser> parser;
  std::vector<char> buf;
  CsvTable pending;  // rows parsed with the header, before the first next()
  bool eof = false;
  // Reads one block into the attached table; false at the end of the file.
  bool read_block() {
    if (eof) return false;
    const int n = gzread(f, buf.data(), unsigned(buf.size()));
    if (n < 0) {
      int errnum = 0;
      EF_THROW(path, ": read error (", gzerror(f, &errnum), ")");
    }
    if (n == 0) {
      eof = true;
      parser->finish();
      return false;
    }
    parser->feed(buf.data(), size_t(n));
    return true;
  }
  ~State() {
    if (f) gzclose(f);
  }
};

CsvReader::CsvReader(const std::string& path, const std::vector<std::string>* header)
    : st_(std::make_unique<State>()) {
  State& s = *st_;
  s.path = path;
  const int fd = open_regular_file(path, "a CSV file");
  s.f = gzdopen(fd, "rb");  // also reads uncompressed files transparently
  if (!s.f) {
    ::close(fd);
    EF_THROW(path, ": cannot open for reading");
  }
  gzbuffer(s.f, 1 << 17);
  s.buf.resize(1 << 17);
  s.pending.path = path;
  s.parser = std::make_unique<Parser>(s.path, header);
  s.parser->attach(s.pending);
  while (s.parser->records() == 0 && s.read_block()) {
  }
  if (s.parser->records() == 0 && !s.eof) EF_THROW(path, ": the file is empty (no header)");
}

CsvReader::~CsvReader() = default;

const std::vector<std::string>& CsvReader::header() const { return st_->parser->header(); }

bool CsvReader::next(CsvTable& out, size_t max_rows) {
  State& s = *st_;
  first_row_ = s.parser->records() - 1 - s.pending.rows();
  out = std::move(s.pending);
  s.pending = CsvTable();
  s.parser->attach(s.pending);  // keeps the parser off `out` if it is moved or freed later
  if (out.header.empty()) {
    out.header = s.parser->header();
    out.cells.assign(out.header.size(), {});
  }
  out.path = s.path;
  while (out.rows() < max_rows) {
    // Parse a block into pending, then move its rows to out.
    const bool more = s.read_block();
    for (size_t c = 0; c < out.cells.size(); ++c) {
      auto& src = s.pending.cells[c];
      auto& dst = out.cells[c];
      if (dst.empty()) {
        dst.swap(src);
      } else {
        dst.insert(dst.end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
        src.clear();
      }
    }
    if (!more) break;
  }
  // Exactly max_rows rows: the rest of the last block waits in pending for the next call.
  if (out.rows() > max_rows)
    for (size_t c = 0; c < out.cells.size(); ++c) {
      auto& src = out.cells[c];
      s.pending.cells[c].assign(std::make_move_iterator(src.begin() + long(max_rows)),
                                std::make_move_iterator(src.end()));
      src.resize(max_rows);
    }
  return out.rows() > 0;
}

CsvTable read_csv(const std::string& path, const std::vector<std::string>* header) {
  CsvReader r(path, header);
  CsvTable t;
  r.next(t, SIZE_MAX);
  return t;
}

bool csv_needs_quotes(const std::string& s) {
  // Quoted when empty too (a lone empty field would be a blank line, which the reader skips), when
  // it starts or ends with a space or a tab (the reader trims both from unquoted fields), and when
  // it starts with bytes the reader takes for a byte-order mark when they open a file (UTF-8's
  // EF BB BF is skipped; UTF-16's FF FE and FE FF are refused).
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  return s.empty() || s.find_first_of(",\"\r\n") != std::string::npos || blank(s.front()) ||
         blank(s.back()) || s.compare(0, 3, "\xef\xbb\xbf") == 0 || s.compare(0, 2, "\xff\xfe") == 0 ||
         s.compare(0, 2, "\xfe\xff") == 0;
}

std::string csv_field(const std::string& s) {
  if (!csv_needs_quotes(s)) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace ef
