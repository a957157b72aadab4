#include "csv.hpp"

#include <omp.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <set>

#include "error.hpp"

namespace ef {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }  // trimmed around unquoted fields
bool is_term(char c) { return c == '\r' || c == '\n'; }

// The bytes that end an unquoted field (or make it malformed), for the scan's table lookup.
struct StopBytes {
  bool stop[256] = {};
  StopBytes() { stop[uint8_t(',')] = stop[uint8_t('\r')] = stop[uint8_t('\n')] = stop[uint8_t('"')] = true; }
};
const StopBytes kStop;

// The first byte in [p, end) that ends an unquoted field (kStop), or end: sixteen bytes per step
// where SSE2 is there (every x86-64), as numeric fields are long runs of plain bytes
// (bench/results/score_pipeline_2026-11-30.md).
const char* field_end(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'),
                lf = _mm_set1_epi8('\n');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, quote)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
    if (const int mask = _mm_movemask_epi8(hit)) return p + __builtin_ctz(unsigned(mask));
  }
#endif
  while (p < end && !kStop.stop[uint8_t(*p)]) ++p;
  return p;
}

enum class Fault { None, Quote, Unclosed, Ragged };

// The rows one piece of a block parsed to.
struct Piece {
  std::vector<std::vector<std::string_view>> cols;  // the header row: every field in cols[0]
  size_t rows = 0;        // complete rows
  size_t end = 0;         // offset just past the last complete row (and blank lines after it)
  std::shared_ptr<std::string> arena;  // quoted fields with "" escapes, unescaped
  size_t arena_used = 0;
  Fault fault = Fault::None;
  size_t fault_field = 0;  // 0-based field of the fault (Ragged: the row's field count)
  void reset(size_t ncols) {
    cols.resize(std::max<size_t>(ncols, 1));
    for (auto& c : cols) c.clear();
    rows = end = arena_used = fault_field = 0;
    arena.reset();
    fault = Fault::None;
  }
  void drop_partial_row() {  // fields of a row that did not complete
    for (auto& c : cols) c.resize(std::min(c.size(), rows));
  }
};

// Parses rows of buf[b, e) into pc; b is at a row start. The rules are libcsv's strict mode (the
// reference in tests/support): blanks around unquoted fields are trimmed, blanks after a closing
// quote skipped, a line of blanks is no row. final: e is the end of the input (the last row
// needs no line end, an open quote is an error); otherwise a row not complete by e is left for
// the next block. ncols: fields per row; header: one row of any width (all fields in cols[0]).
void parse_rows(const char* buf, size_t b, size_t e, bool final, size_t ncols, bool header, Piece& pc) {
  const char* const end = buf + e;
  const char* p = buf + b;
  pc.end = b;
  auto stop = [&](Fault f, size_t field) {
    pc.fault = f;
    pc.fault_field = field;
    pc.drop_partial_row();
  };
  for (;;) {
    while (p < end && is_blank(*p)) ++p;
    if (p == end) {
      if (final) pc.end = e;
      return;
    }
    if (is_term(*p)) {  // blank line
      pc.end = size_t(++p - buf);
      continue;
    }
    size_t f = 0;
    for (;;) {
      std::string_view field;
      if (p == end) {
        field = std::string_view(p, 0);  // final input ends after a comma: one empty field
      } else if (*p == '"') {
        const char* q = p + 1;
        const char* close;
        bool escaped = false;
        for (;;) {
          close = static_cast<const char*>(std::memchr(q, '"', size_t(end - q)));
          if (!close || (close + 1 == end && !final)) {  // open, or "" may continue in the next block
            if (!close && final) return stop(Fault::Unclosed, f);
            return pc.drop_partial_row();
          }
          if (close + 1 < end && close[1] == '"') {
            escaped = true;
            q = close + 2;
            continue;
          }
          break;
        }
        if (!escaped) {
          field = std::string_view(p + 1, size_t(close - p - 1));
        } else {
          if (!pc.arena) pc.arena = std::make_shared<std::string>(e - b, '\0');  // unescaped <= raw bytes
          char* out = pc.arena->data() + pc.arena_used;
          size_t n = 0;
          for (const char* s = p + 1; s < close; ++s) {
            out[n++] = *s;
            if (*s == '"') ++s;  // the second of a pair
          }
          field = std::string_view(out, n);
          pc.arena_used += n;
        }
        p = close + 1;
        while (p < end && is_blank(*p)) ++p;
        if (p == end && !final) return pc.drop_partial_row();
        if (p < end && *p != ',' && !is_term(*p)) return stop(Fault::Quote, f);
      } else if (*p == ',' || is_term(*p)) {
        field = std::string_view(p, 0);
      } else {
        const char* s = p;
        p = field_end(p, end);
        if (p < end && *p == '"') return stop(Fault::Quote, f);
        if (p == end && !final) return pc.drop_partial_row();
        const char* t = p;
        while (is_blank(t[-1])) --t;  // s is not blank
        field = std::string_view(s, size_t(t - s));
      }
      if (header)
        pc.cols[0].push_back(field);
      else if (f < ncols)
        pc.cols[f].push_back(field);
      ++f;
      if (p < end && *p == ',') {
        ++p;
        while (p < end && is_blank(*p)) ++p;
        if (p == end && !final) return pc.drop_partial_row();
        continue;
      }
      if (p < end) ++p;  // the line end
      break;
    }
    if (!header && f != ncols) return stop(Fault::Ragged, f);
    ++pc.rows;
    pc.end = size_t(p - buf);
    if (header) return;
  }
}

}  // namespace

struct CsvReader::State {
  std::string name;
  CsvReadOptions opt;
  gzFile f = nullptr;
  std::shared_ptr<const std::string> mem;  // in-memory input
  size_t mem_pos = 0;
  std::shared_ptr<std::string> buf;  // the current block: the last one's partial row, then new bytes
  size_t pos = 0;                    // first byte of buf not parsed yet
  size_t nul = std::string::npos;    // first NUL byte in buf: parsing stops there
  bool eof = false, first = true, have_header = false;
  std::vector<std::string> header;
  size_t records = 0;  // rows completed, the header counted: row numbers in messages
  size_t data_rows = 0, handed = 0;
  std::vector<Piece> pieces;
  CsvTable pending;  // parsed rows next() has not handed out yet, from row pending_off
  size_t pending_off = 0;

  ~State() {
    if (f) gzclose(f);
  }

  std::string row_name(size_t record) const {
    return record == 0 ? std::string("header") : "row " + std::to_string(record);
  }

  size_t read_source(char* dst, size_t n) {
    if (mem) {
      const size_t k = std::min(n, mem->size() - mem_pos);
      std::memcpy(dst, mem->data() + mem_pos, k);
      mem_pos += k;
      return k;
    }
    size_t got = 0;
    while (got < n) {
      const int r = gzread(f, dst + got, unsigned(std::min<size_t>(n - got, INT_MAX / 2)));
      if (r < 0) {
        int errnum = 0;
        EF_THROW(name, ": read error (", gzerror(f, &errnum), ")");
      }
      if (r == 0) break;
      got += size_t(r);
    }
    return got;
  }

  // buf becomes the unparsed rest of the old block followed by up to `want` new bytes.
  void refill(size_t want) {
    if (mem) want = std::min(want, mem->size() - mem_pos);  // in memory: no block larger than the text
    const size_t carry = buf ? buf->size() - pos : 0;
    auto nb = std::make_shared<std::string>();
    nb->resize(carry + want);
    if (carry) std::memcpy(nb->data(), buf->data() + pos, carry);
    const size_t got = read_source(nb->data() + carry, want);
    nb->resize(carry + got);
    eof = mem ? mem_pos == mem->size() : got < want;
    buf = std::move(nb);
    pos = 0;
    if (first) {
      first = false;
      const auto* u = reinterpret_cast<const unsigned char*>(buf->data());
      const size_t n = buf->size();
      // UTF-16: a byte-order mark, or ASCII text with zero high bytes.
      if ((n >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff))) ||
          (n >= 2 && ((u[0] != 0 && u[1] == 0) || (u[0] == 0 && u[1] != 0))))
        EF_THROW(name, ": UTF-16 is not supported, convert the file to UTF-8");
      if (n >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) pos = 3;  // UTF-8 byte-order mark
    }
    // A NUL byte is never text: refused (UTF-16 without a byte-order mark ends here too), so
    // every file the reader accepts is one the writer can reproduce. The carry has none.
    const void* z = std::memchr(buf->data() + carry, 0, got);
    nul = z ? size_t(static_cast<const char*>(z) - buf->data()) : std::string::npos;
  }
  void grow() { refill(std::max(opt.block_bytes, buf->size() - pos)); }  // a row longer than a block: doubles

  size_t limit() const { return nul == std::string::npos ? buf->size() : nul; }
  bool final() const { return eof && nul == std::string::npos; }

  [[noreturn]] void fail(const Piece& pc, size_t record) const {
    const std::string at = row_name(record);
    auto column = [&](size_t f) {
      return f < header.size() && have_header ? ", column \"" + header[f] + "\"" : ", column " + std::to_string(f + 1);
    };
    switch (pc.fault) {
      case Fault::Quote:
        EF_THROW(name, ": ", at, column(pc.fault_field),
                 ": malformed CSV (a quote inside an unquoted field, or text after a closing quote)");
      case Fault::Unclosed:
        EF_THROW(name, ": ", at, column(pc.fault_field), ": malformed CSV (a quoted field is not closed by the end of the file)");
      case Fault::Ragged:
        EF_THROW(name, ": ", at, ": ", pc.fault_field, " fields, but the header has ", header.size());
      case Fault::None:
        break;
    }
    EF_THROW(name, ": ", at, ": malformed CSV");
  }
  [[noreturn]] void fail_nul() const {
    EF_THROW(name, ": ", row_name(records), ": a NUL byte (not a UTF-8 text file; UTF-16 is not supported, convert the file to UTF-8)");
  }

  void set_header(std::vector<std::string> h) {
    std::set<std::string> seen;
    for (size_t c = 0; c < h.size(); ++c) {
      if (h[c].empty()) EF_THROW(name, ": header: column ", c + 1, " has an empty name");
      if (!seen.insert(h[c]).second) EF_THROW(name, ": header: duplicate column name \"", h[c], "\"");
    }
    header = std::move(h);
    have_header = true;
    records = 1;
  }

  void start(const std::vector<std::string>* given) {
    pending.path = name;
    if (given) set_header(*given);
    refill(opt.block_bytes);
    while (!have_header) {
      Piece pc;
      pc.reset(1);
      parse_rows(buf->data(), pos, limit(), final(), 0, true, pc);
      if (pc.fault != Fault::None) fail(pc, 0);
      pos = pc.end;
      if (pc.rows == 1) {
        set_header(std::vector<std::string>(pc.cols[0].begin(), pc.cols[0].end()));
      } else if (nul != std::string::npos) {
        fail_nul();
      } else if (eof) {
        EF_THROW(name, ": the file is empty (no header)");
      } else {
        grow();
      }
    }
    pending.header = header;
    pending.cells.assign(header.size(), {});
  }

  // Parses buf[pos, limit()) in pieces, in parallel; returns the pieces used (their rows in order).
  size_t parse_pieces() {
    const size_t ncols = header.size(), lim = limit();
    const char* d = buf->data();
    const size_t len = lim - pos;
    size_t want = size_t(opt.pieces > 0 ? opt.pieces : omp_get_max_threads());
    want = std::max<size_t>(1, std::min(want, len / std::max<size_t>(opt.min_piece_bytes, 1)));
    // Cuts just after a line end with an even number of quotes since pos (outside quotes, when
    // the quoting is valid; checked below).
    std::vector<size_t> cut{pos};
    size_t i = pos;
    bool odd = false;
    for (size_t k = 1; k < want; ++k) {
      const size_t target = std::max(i, pos + len / want * k);
      odd ^= (std::count(d + i, d + target, '"') & 1) != 0;
      i = target;
      while (i < lim && !(is_term(d[i]) && !odd)) odd ^= d[i++] == '"';
      if (i >= lim) break;
      cut.push_back(++i);
    }
    cut.push_back(lim);
    const size_t n = cut.size() - 1;
    if (pieces.size() < n) pieces.resize(n);
    auto parse_piece = [&](size_t k) {
      pieces[k].reset(ncols);
      parse_rows(d, cut[k], cut[k + 1], k + 1 == n && final(), ncols, false, pieces[k]);
    };
    if (csv_parse_in_parallel(len, n, opt)) {
#pragma omp parallel for num_threads(int(n)) schedule(static, 1)
      for (size_t k = 0; k < n; ++k) parse_piece(k);
    } else {
      for (size_t k = 0; k < n; ++k) parse_piece(k);
    }
    bool ok = true;
    for (size_t k = 0; k < n; ++k)
      ok &= pieces[k].fault == Fault::None && (k + 1 == n || pieces[k].end == cut[k + 1]);
    if (ok) return n;
    // A piece edge inside a quoted field (quotes not balanced) or an error: once, in one piece,
    // so the first error and its row are the sequential parser's.
    pieces[0].reset(ncols);
    parse_rows(d, pos, lim, final(), ncols, false, pieces[0]);
    if (pieces[0].fault != Fault::None) fail(pieces[0], records + pieces[0].rows);
    return 1;
  }

  // The next rows into `into` (its cells replaced); false when the input has no more rows.
  bool parse_block(CsvTable& into) {
    for (;;) {
      const size_t n = parse_pieces();
      size_t rows = 0;
      for (size_t k = 0; k < n; ++k) rows += pieces[k].rows;
      pos = pieces[n - 1].end;
      if (rows > 0) {
        into.text.assign(1, buf);
        for (size_t c = 0; c < header.size(); ++c) {
          auto& col = into.cells[c];
          col.clear();
          col.reserve(rows);
          for (size_t k = 0; k < n; ++k) col.insert(col.end(), pieces[k].cols[c].begin(), pieces[k].cols[c].end());
        }
        for (size_t k = 0; k < n; ++k)
          if (pieces[k].arena) into.text.push_back(std::move(pieces[k].arena));
        records += rows;
        data_rows += rows;
        return true;
      }
      if (nul != std::string::npos) fail_nul();
      if (eof) {
        if (data_rows == 0) EF_THROW(name, ": the file has no data rows");
        return false;
      }
      grow();
    }
  }
};

bool csv_parse_in_parallel(size_t bytes, size_t pieces, const CsvReadOptions& opt) {
  return pieces > 1 && bytes >= opt.parallel_min_bytes;
}

CsvReader::CsvReader(const std::string& path, const std::vector<std::string>* header, const CsvReadOptions& opt)
    : st_(std::make_unique<State>()) {
  State& s = *st_;
  s.name = path;
  s.opt = opt;
  const int fd = open_regular_file(path, "a CSV file");
  s.f = gzdopen(fd, "rb");  // also reads uncompressed files transparently
  if (!s.f) {
    ::close(fd);
    EF_THROW(path, ": cannot open for reading");
  }
  gzbuffer(s.f, 1 << 18);
  s.start(header);
}

CsvReader::CsvReader(std::shared_ptr<const std::string> text, const std::string& name, const CsvReadOptions& opt)
    : st_(std::make_unique<State>()) {
  st_->name = name;
  st_->opt = opt;
  st_->mem = std::move(text);
  st_->start(nullptr);
}

CsvReader::~CsvReader() = default;

const std::vector<std::string>& CsvReader::header() const { return st_->header; }

bool CsvReader::next(CsvTable& out, size_t max_rows) {
  State& s = *st_;
  const size_t ncols = s.header.size();
  out.path = s.name;
  out.header = s.header;
  // Emptied, not freed: a caller that reads block after block into the same table reuses the
  // columns' storage (no regrowth, no fresh pages per block).
  out.cells.resize(ncols);
  for (auto& c : out.cells) c.clear();
  out.text.clear();
  first_row_ = s.handed;
  size_t n = 0;
  while (n < max_rows) {
    if (s.pending_off == s.pending.rows()) {
      if (!s.parse_block(s.pending)) break;
      s.pending_off = 0;
    }
    const size_t take = std::min(max_rows - n, s.pending.rows() - s.pending_off);
    out.text.insert(out.text.end(), s.pending.text.begin(), s.pending.text.end());
    if (n == 0 && s.pending_off == 0 && take == s.pending.rows() && (ncols == 0 || out.cells[0].capacity() < take)) {
      out.cells.swap(s.pending.cells);  // the whole parsed block, and no storage in out to reuse: no copy
      for (auto& c : s.pending.cells) c.clear();
    } else {
      for (size_t c = 0; c < ncols; ++c) {
        const auto& src = s.pending.cells[c];
        out.cells[c].insert(out.cells[c].end(), src.begin() + long(s.pending_off),
                            src.begin() + long(s.pending_off + take));
      }
      s.pending_off += take;
    }
    n += take;
  }
  s.handed += n;
  return n > 0;
}

CsvTable read_csv(const std::string& path, const std::vector<std::string>* header, const CsvReadOptions& opt) {
  CsvReader r(path, header, opt);
  CsvTable t;
  r.next(t, SIZE_MAX);
  return t;
}

CsvTable parse_csv(const std::string& text, const std::string& name, const CsvReadOptions& opt) {
  CsvReader r(std::make_shared<const std::string>(text), name, opt);
  CsvTable t;
  r.next(t, SIZE_MAX);
  return t;
}

bool csv_needs_quotes(std::string_view s) {
  // Quoted when empty too (a lone empty field would be a blank line, which the reader skips), when
  // it starts or ends with a space or a tab (the reader trims both from unquoted fields), and when
  // it starts with bytes the reader takes for a byte-order mark when they open a file (UTF-8's
  // EF BB BF is skipped; UTF-16's FF FE and FE FF are refused).
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  return s.empty() || s.find_first_of(",\"\r\n") != std::string_view::npos || blank(s.front()) ||
         blank(s.back()) || s.compare(0, 3, "\xef\xbb\xbf") == 0 || s.compare(0, 2, "\xff\xfe") == 0 ||
         s.compare(0, 2, "\xfe\xff") == 0;
}

std::string csv_field(std::string_view s) {
  if (!csv_needs_quotes(s)) return std::string(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace ef
