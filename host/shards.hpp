// Sharded data (data.path a list or glob, docs/SCALE.md): each rank reads only its shards, and
// the ranks agree on what every column is, so every rank fits the same encoders.
#pragma once
#include <echoflow/echoflow.hpp>

#include <string>
#include <vector>

#include "communicator.hpp"

namespace echoflow {

// Shard i of `files` belongs to rank i mod R. Fewer shards than ranks is an error (every rank
// must hold rows: a rank without rows cannot take its share of the validation split).
std::vector<std::string> shards_of_rank(const std::vector<std::string>& files, int rank, int ranks);

// This rank's shards, read and concatenated in shard order, with the column types every rank
// agrees on: an undeclared column is categorical if any shard holds a non-number in it, else
// infer_numeric_type's rule over all shards' values (distinct values and present counts summed
// over the shards), so a list of shards gets the types of their concatenation. Every shard must
// have the same columns in the same order. A column's missing token is the one of the first
// shard with missing values in it. Categorical columns with more than max_labels distinct labels
// over all shards (0 = no limit) are removed and listed in *dropped as "NAME (more than N
// distinct labels)". Each step ends with the ranks agreeing on success (run_agreed): a bad cell
// in one rank's shard ends every rank with that shard's file/row/column message.
Table read_shards(ef::Communicator& comm, const std::vector<std::string>& files, const ReadOptions& ro,
                  size_t max_labels, std::vector<std::string>* dropped);

}  // namespace echoflow
