// `eftrain score` in one process: a CSV of any size scored a block at a time, memory two blocks.
#pragma once
#include <echoflow/echoflow.hpp>

#include <cstddef>
#include <string>

namespace echoflow {

struct ScoreStreamOptions {
  // Rows of the first block; each next block twice the last, up to block_rows. The first block
  // is read before anything can overlap it, so it is small; later blocks are read on a second
  // thread while the one before is scored. Multiples of 512 (Model::score's chunk) keep every
  // chunk whole except the file's last; scores do not depend on these sizes either way.
  size_t first_block_rows = 2048;
  size_t block_rows = 16384;
};

// Writes `out` (a header "log_prob", then one log-density per input row, in original units;
// -inf = outside the model's support), reading `data` with the model's column types. Errors
// name the file, row and column; on any error no output file is left.
void score_csv(const Model& m, const std::string& data, const std::string& out,
               const ScoreStreamOptions& opt = {});

}  // namespace echoflow
