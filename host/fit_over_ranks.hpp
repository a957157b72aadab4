// Column encoders fitted on the rows of every rank (sharded data, docs/SCALE.md). Each function
// is called by every rank with its own rows, in the same order of columns; every rank returns
// byte-identical encoders and statistics: gathered data are merged in rank order, never summed in
// an order MPI chooses.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "communicator.hpp"
#include "encoders.hpp"
#include "schema.hpp"

namespace ef {

// Values of a numeric column the quantile map, the point masses and the skew/kurtosis rule see:
// all of them when all ranks together hold at most this many training values, else a
// deterministic sample of this size, each rank giving its share in proportion to its values
// (evenly spaced order statistics of its sorted values).
constexpr size_t kFitSampleValues = size_t(1) << 16;

// train: this rank's present values of the training rows; all: of every row (the observed
// support spans them); n_missing, n_rows: this rank's counts. The point masses, quantile knots and
// the quantile-or-standardize choice come from the global sample; the observed support from the
// global extremes; mean and sd after the bound map from every rank's training values (Chan et
// al.'s pairwise merge of count, mean and sum of squared deviations, in double); st: rows,
// missing, min, max and point-mass shares over all ranks.
ColumnEncoder fit_numeric_over_ranks(Communicator& comm, const std::string& name, ColumnType type,
                                     const std::vector<double>& train, const std::vector<double>& all,
                                     size_t n_missing, size_t n_rows, const std::string& missing_token,
                                     const ColumnOptions& opt, ColumnStats* st);

// The labels: the union over the ranks, sorted (as one process sorts them); a missing level when
// any rank has a missing cell.
ColumnEncoder fit_categorical_over_ranks(Communicator& comm, const std::string& name,
                                         const std::vector<std::string>& labels, const std::vector<uint8_t>& missing,
                                         const std::string& missing_token, ColumnStats* st);

// Every rank's rows of an int matrix (rows x width), concatenated in rank order on every rank.
std::vector<int> gather_rows(Communicator& comm, const std::vector<int>& mine);

}  // namespace ef
