#include "csv.hpp"

#include <csv.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "error.hpp"

namespace ef {
namespace {

struct ParseState {
  const std::string* name;
  std::vector<std::string> row;
  CsvTable* table;
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
    std::set<std::string> seen;
    for (size_t c = 0; c < st->row.size(); ++c) {
      const std::string& h = st->row[c];
      if (h.empty())
        st->error = detail::cat(*st->name, ": header: column ", c + 1, " has an empty name");
      else if (!seen.insert(h).second)
        st->error = detail::cat(*st->name, ": header: duplicate column name \"", h, "\"");
    }
    st->table->header = st->row;
    st->table->cells.assign(st->row.size(), {});
  } else if (st->row.size() != st->table->header.size()) {
    st->error = detail::cat(*st->name, ": row ", st->record, ": ", st->row.size(),
                            " fields, but the header has ", st->table->header.size());
  } else {
    for (size_t c = 0; c < st->row.size(); ++c) st->table->cells[c].push_back(std::move(st->row[c]));
  }
  ++st->record;
  st->row.clear();
}

class Parser {
 public:
  // header: the column names when the file has no header row (null: the first row is it).
  Parser(CsvTable& t, const std::string& name, const std::vector<std::string>* header = nullptr) {
    st_.name = &name;
    st_.table = &t;
    if (header) {
      st_.row = *header;
      on_row(0, &st_);  // validates names (duplicates, empty) exactly like a header row
      check();
    }
    if (csv_init(&p_, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
      EF_THROW(name, ": cannot initialize the CSV parser");
  }
  ~Parser() { csv_free(&p_); }
  void feed(const char* buf, size_t n) {
    if (csv_parse(&p_, buf, n, on_field, on_row, &st_) != n) fail();
    check();
  }
  void finish() {
    if (csv_fini(&p_, on_field, on_row, &st_) != 0) fail();
    check();
    if (st_.record == 0) EF_THROW(*st_.name, ": the file is empty (no header)");
    if (st_.record == 1) EF_THROW(*st_.name, ": the file has no data rows");
  }

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
};

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable t;
  t.path = name;
  Parser p(t, name);
  p.feed(text.data(), text.size());
  p.finish();
  return t;
}

CsvTable read_csv(const std::string& path, const std::vector<std::string>* header) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) EF_THROW(path, ": no such file");
  if (std::filesystem::is_directory(path, ec)) EF_THROW(path, ": is a directory, not a CSV file");
  gzFile f = gzopen(path.c_str(), "rb");  // also reads uncompressed files transparently
  if (!f) EF_THROW(path, ": cannot open for reading");
  gzbuffer(f, 1 << 17);
  CsvTable t;
  t.path = path;
  try {
    Parser p(t, path, header);
    std::vector<char> buf(1 << 17);
    for (;;) {
      int n = gzread(f, buf.data(), unsigned(buf.size()));
      if (n < 0) {
        int errnum = 0;
        EF_THROW(path, ": read error (", gzerror(f, &errnum), ")");
      }
      if (n == 0) break;
      p.feed(buf.data(), size_t(n));
    }
    p.finish();
  } catch (...) {
    gzclose(f);
    throw;
  }
  gzclose(f);
  return t;
}

std::string csv_field(const std::string& s) {
  // Quoted when empty too (a lone empty field would be a blank line, which the reader skips) and
  // when it starts or ends with a space or a tab (the reader trims both from unquoted fields).
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  if (!s.empty() && s.find_first_of(",\"\r\n") == std::string::npos && !blank(s.front()) && !blank(s.back()))
    return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

void write_file_atomic(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path tmp = target;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) EF_THROW(path, ": cannot write (cannot create ", tmp.string(), ")");
    out.write(content.data(), std::streamsize(content.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      EF_THROW(path, ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    EF_THROW(path, ": cannot rename the temporary file into place");
  }
}

}  // namespace ef
