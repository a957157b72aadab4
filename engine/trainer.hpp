// The training loop: per-epoch shuffling, mini-batches, a held-out validation split, early
// stopping on validation NLL that restores the best parameters. Data arrive encoded: rows
// u (N, D); integer columns are dequantized here by adding U(0,1) * width per batch.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "backend.hpp"

namespace ef {

struct TrainOptions {
  int epochs = 50;
  int batch_size = 256;
  AdamConfig adam;
  double validation_fraction = 0.1;
  int patience = 10;          // epochs without improvement before stopping (0 = never stop)
  uint64_t seed = 0;
  double nll_offset = 0;      // added to reported NLLs (encoder log-Jacobians -> original units)
};

struct EpochReport {
  int epoch = 0;              // 1-based
  int epochs = 0;
  double train_nll = 0;       // mean over the epoch's batches, original units
  double val_nll = 0;         // NaN when there is no validation split
  double rows_per_s = 0;
  double eta_s = 0;           // to the epoch limit
  bool improved = false;
};

struct TrainResult {
  int epochs_run = 0;
  int best_epoch = 0;
  double best_val_nll = 0;    // NaN without validation
  double final_train_nll = 0;
  bool stopped_early = false;
  int n_train = 0, n_val = 0;
  double seconds = 0;
  std::vector<EpochReport> history;
};

// data: N rows of D encoded values (row-major); ext: N rows of E context values or null;
// dequant_width: per column, 0 for continuous, the width of one integer step in encoded units.
TrainResult train(Backend& be, const std::vector<float>& data, const std::vector<float>* ext,
                  int N, int D, const std::vector<float>& dequant_width, const TrainOptions& opt,
                  const std::function<void(const EpochReport&)>& on_epoch);

}  // namespace ef
