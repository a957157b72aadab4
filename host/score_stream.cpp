#include "score_stream.hpp"

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "block_prefetch.hpp"
#include "output_file.hpp"
#include "table_stream.hpp"

namespace echoflow {

void score_csv(const Model& m, const std::string& data, const std::string& out, const ScoreStreamOptions& opt) {
  // Read with the model's column types, so a bad value is reported against the model's column.
  ReadOptions ro;
  ro.types = m.column_types();
  ro.declared_by = "the model";
  ro.missing_tokens = m.missing_tokens();
  // The text in 256 KB pieces, parsed on the reader thread alone: a piece's cell views then stay
  // in cache from the split to the copy into the block (with 4 MB pieces they went to memory),
  // and no second OpenMP team competes with the one scoring
  // (bench/results/score_pipeline_2026-11-30.md).
  ef::CsvReadOptions csv;
  csv.block_bytes = size_t(256) << 10;
  TableReader reader(data, ro, csv);
  ef::OutputFile f(out);
  f.write("log_prob\n", 9);
  struct Block {
    Table t;
    size_t first_row = 0;
  };
  size_t rows = std::max<size_t>(1, std::min(opt.first_block_rows, opt.block_rows));
  bool first = true;
  // One reader thread for the whole file (declared after reader and f: it stops before them).
  ef::BlockPrefetch<Block> ahead([&](Block& b) {
    if (first) {  // this thread's own OpenMP setting: its reads run on it alone
      first = false;
      omp_set_num_threads(1);
    }
    if (!reader.next(b.t, rows)) return false;
    b.first_row = reader.first_row();
    rows = std::min(opt.block_rows, 2 * rows);
    return true;
  });
  Block cur;
  std::string s;
  char buf[32];
  while (ahead.next(cur)) {  // a read error of a block is thrown here, after the blocks before it
    const std::vector<double> lp = m.score(cur.t, cur.first_row);
    s.clear();
    for (double v : lp) {
      s.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
      s += '\n';
    }
    f.write(s);
  }
  f.commit();
}

}  // namespace echoflow
