#include "ranks_io.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "output_file.hpp"
#include "table_stream.hpp"

namespace echoflow {
namespace {

constexpr size_t kPieceBytes = size_t(16) << 20;  // one message of a spooled part
constexpr size_t kScoreRows = 4096;               // the unit of score's round robin

// Rows [a, b) of t.
Table slice(const Table& t, size_t a, size_t b) {
  Table s;
  s.source = t.source;
  for (const Column& c : t.columns) {
    Column d;
    d.name = c.name;
    d.type = c.type;
    d.missing_token = c.missing_token;
    if (c.type == ColumnType::Categorical)
      d.labels.assign(c.labels.begin() + long(a), c.labels.begin() + long(b));
    else
      d.values.assign(c.values.begin() + long(a), c.values.begin() + long(b));
    if (!c.missing.empty()) d.missing.assign(c.missing.begin() + long(a), c.missing.begin() + long(b));
    s.columns.push_back(std::move(d));
  }
  return s;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

void sample_over_ranks(ef::Communicator& comm, const Model& m, size_t rows,
                       const std::map<std::string, std::string>& given, uint64_t seed,
                       const std::string& out, size_t block_rows, ef::SampleInfo* info) {
  const int R = comm.size(), r = comm.rank();
  // Rank r writes global rows [N r / R, N (r+1) / R). Draws depend on the chunk a row lies in
  // (importance resampling works per chunk), so the rank draws every whole chunk that overlaps
  // its rows, as one process would draw it, and keeps its rows: at most two chunks are drawn by
  // two ranks. A chunk's proposals and effective sample size count on the rank holding its first
  // row, so the sums are the 1-process ones.
  const size_t chunk = Model::sample_chunk_rows(!given.empty());
  const size_t first = rows * size_t(r) / size_t(R), last = rows * size_t(r + 1) / size_t(R);
  std::unique_ptr<ef::OutputFile> f;                   // rank 0
  std::unique_ptr<std::FILE, FileCloser> spool;        // the other ranks' lines, until sent
  ef::SampleInfo mine;
  ef::run_agreed(comm, [&] {
    if (r == 0) {
      f = std::make_unique<ef::OutputFile>(out);
    } else {
      spool.reset(std::tmpfile());
      EF_CHECK(spool, "sample: cannot create a temporary file for this rank's rows (TMPDIR)");
    }
    std::string s;
    bool header = r == 0;
    auto put = [&](const std::string& text) {
      if (f) {
        f->write(text);
      } else {
        EF_CHECK(std::fwrite(text.data(), 1, text.size(), spool.get()) == text.size(),
                 "sample: writing this rank's rows to a temporary file failed (TMPDIR full?)");
      }
    };
    ef::SampleInfo part;
    // Chunk by chunk from the one holding `first` (rank 0 draws chunk 0 even without rows of its
    // own: it writes the header).
    for (size_t c0 = first / chunk * chunk; c0 < last || header; c0 += chunk) {
      size_t at = c0;  // the global row of the block the sink gets
      m.sample_range(c0, std::min(chunk, rows - c0), given, seed, chunk, [&](Table& b) {
        const size_t lo = std::max(first, at) - at, hi = std::max(std::min(last, at + b.rows()), at) - at;
        at += b.rows();
        s.clear();
        if (header) s = format_header(b);
        header = false;
        if (hi > lo) format_rows(b, lo, hi, s);
        put(s);
      }, &part);
      mine.method = part.method;  // the same on every chunk
      if (c0 >= first && c0 < last) {
        mine.proposals += part.proposals;
        mine.ess += part.ess;
      }
    }
  });
  // Rank 0 appends the other ranks' parts in rank order. A failure here (a full disk on rank 0)
  // is not agreed on: the caller ends every rank (Communicator::abort).
  for (int q = 1; q < R; ++q) {
    if (r == 0) {
      for (std::string piece = comm.recv(q); !piece.empty(); piece = comm.recv(q)) f->write(piece);
    } else if (r == q) {
      std::rewind(spool.get());
      std::string piece(kPieceBytes, '\0');
      for (;;) {
        const size_t got = std::fread(piece.data(), 1, kPieceBytes, spool.get());
        EF_CHECK(!std::ferror(spool.get()), "sample: reading this rank's temporary file failed");
        if (got == 0) break;
        comm.send(piece.substr(0, got), 0);
      }
      comm.send(std::string(), 0);  // end of this rank's part
    }
  }
  ef::run_agreed(comm, [&] {
    if (f) f->commit();
  });
  double sums[2] = {double(mine.proposals), mine.ess};
  comm.sum(sums, 2);
  if (info) {
    *info = mine;  // rank 0's method: every rank draws the same way
    info->proposals = size_t(sums[0]);
    info->ess = sums[1];
  }
}

void score_over_ranks(ef::Communicator& comm, const Model& m, const std::string& data,
                      const std::string& out, size_t block_rows) {
  const int R = comm.size(), r = comm.rank();
  ReadOptions ro;
  ro.types = m.column_types();
  ro.declared_by = "the model";
  ro.missing_tokens = m.missing_tokens();
  std::unique_ptr<TableReader> reader;
  std::unique_ptr<ef::OutputFile> f;
  ef::run_agreed(comm, [&] {
    reader = std::make_unique<TableReader>(data, ro);
    if (r == 0) {
      f = std::make_unique<ef::OutputFile>(out);
      f->write("log_prob\n", 9);
    }
  });
  Table t;
  std::vector<double> lp;
  std::string s;
  for (;;) {
    bool more = false;
    // Every rank reads every block, so a bad cell fails on all of them alike.
    ef::run_agreed(comm, [&] { more = reader->next(t, block_rows); });
    if (!more) break;
    const size_t n = t.rows(), first = reader->first_row();
    const size_t pieces = (n + kScoreRows - 1) / kScoreRows;
    lp.assign(n, 0.0);
    ef::run_agreed(comm, [&] {
      for (size_t k = size_t(r); k < pieces; k += size_t(R)) {
        const size_t a = k * kScoreRows, b = std::min(n, a + kScoreRows);
        const std::vector<double> v = m.score(slice(t, a, b), first + a);
        std::copy(v.begin(), v.end(), lp.begin() + long(a));
      }
    });
    // Rank q's pieces to rank 0, as one message of doubles in piece order.
    for (int q = 1; q < R; ++q) {
      if (r == q) {
        s.clear();
        for (size_t k = size_t(r); k < pieces; k += size_t(R)) {
          const size_t a = k * kScoreRows, b = std::min(n, a + kScoreRows);
          s.append(reinterpret_cast<const char*>(&lp[a]), (b - a) * sizeof(double));
        }
        comm.send(s, 0);
      } else if (r == 0) {
        const std::string got = comm.recv(q);
        size_t o = 0;
        for (size_t k = size_t(q); k < pieces; k += size_t(R)) {
          const size_t a = k * kScoreRows, b = std::min(n, a + kScoreRows);
          EF_CHECK(o + (b - a) * sizeof(double) <= got.size(), "score: rank ", q, " sent too few values");
          std::memcpy(&lp[a], got.data() + o, (b - a) * sizeof(double));
          o += (b - a) * sizeof(double);
        }
      }
    }
    if (r != 0) continue;
    s.clear();
    char buf[32];
    for (double v : lp) {
      s.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
      s += '\n';
    }
    f->write(s);
  }
  ef::run_agreed(comm, [&] {
    if (f) f->commit();
  });
}

}  // namespace echoflow
