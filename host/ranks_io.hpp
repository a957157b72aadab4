// `eftrain sample` and `eftrain score` over the ranks of a multi-process run (docs/SCALE.md).
// Each rank computes its share; rank 0 writes the one output file (temp + rename, as one
// process does) with the bytes one process would write. A failure on any rank ends every rank
// with that rank's message (run_agreed, host/communicator.hpp).
#pragma once
#include <echoflow/echoflow.hpp>

#include <map>
#include <string>

#include "communicator.hpp"

namespace echoflow {

// Rank r writes global rows [N r / R, N (r+1) / R) (drawing the whole sample_chunk_rows() chunks
// that hold them, with the counter-based draws of one process), other ranks spool their CSV
// lines to a temporary file, and rank 0 appends them in rank order.
// info (rank 0): proposals and effective sample size summed over the ranks.
void sample_over_ranks(ef::Communicator& comm, const Model& m, size_t rows,
                       const std::map<std::string, std::string>& given, uint64_t seed,
                       const std::string& out, size_t block_rows, ef::SampleInfo* info);

// Every rank reads the input block by block (block_rows rows); the 4096-row pieces of a block go
// round robin over the ranks, and rank 0 gathers their log-densities and writes them in input
// order.
void score_over_ranks(ef::Communicator& comm, const Model& m, const std::string& data,
                      const std::string& out, size_t block_rows);

}  // namespace echoflow
