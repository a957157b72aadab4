// The training loop: per-epoch shuffling, mini-batches, a held-out validation split, early
// stopping on validation NLL that restores the best parameters. Rows are produced by a batch
// callback (the host's encoders), so dequantization and fill noise are fresh every batch.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
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
  // Device backends (host/device_trainer.hpp): the step losses are read back every
  // loss_every steps; training rows whose encoding exceeds max_resident_bytes (-1: half the
  // device's free memory) stream through pinned double buffers in chunks of
  // stream_chunk_batches batches (0: about 64 MiB a chunk).
  int loss_every = 16;
  int64_t max_resident_bytes = -1;
  int stream_chunk_batches = 0;
};

// The split train() uses, by a seeded shuffle of the N rows (validation rows never train, and
// Model::fit fits the column encoders on the training rows only, so early stopping sees rows
// that nothing was fitted on).
void validation_split(int N, const TrainOptions& opt, std::vector<int>& train_idx,
                      std::vector<int>& val_idx);

// Noise stream of training batch k (dequantization and fill noise): kTrainNoiseStream + k, k
// counted across epochs. The CPU loop (host/trainer.cpp) and the device epochs
// (host/device_trainer.cpp) use the same streams, so every backend trains on the same rows.
constexpr uint64_t kTrainNoiseStream = 1000000;

// One encoded batch. logj_sum = sum over its rows of the terms the encoders add to the model's
// log-density to give log p in original units (log-Jacobians minus the log-density of fill
// noise), so NLL (original units) = -(sum log p_model + logj_sum) / B.
struct Batch {
  std::vector<int> codes;  // (B, G)
  std::vector<float> u;    // (B, D)
  double logj_sum = 0;
  std::vector<double> row_logj;  // (B) the rows' terms, optional: resident training needs them
};
// Fills `out` with rows rows[0..B) encoded with noise stream `stream`.
using BatchFn = std::function<void(const int* rows, int B, uint64_t stream, Batch& out)>;
// A BatchFn and whether its rows depend on the stream (dequantization or fill noise). Rows that
// do not are encoded once and kept on a device backend; noisy ones are re-encoded every epoch.
struct BatchSource {
  BatchFn make;
  bool noisy = true;
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
  std::string schedule;       // "host batches", "device resident" or "device streamed"
  std::vector<EpochReport> history;
};

// Every backend shuffles with shuffle_permutation (host/resident_schedule.hpp) of the split's
// training rows, so a device backend's resident or streamed epochs see the CPU loop's batches.
TrainResult train(Backend& be, int N, const BatchSource& source, const TrainOptions& opt,
                  const std::function<void(const EpochReport&)>& on_epoch);
inline TrainResult train(Backend& be, int N, const BatchFn& make_batch, const TrainOptions& opt,
                         const std::function<void(const EpochReport&)>& on_epoch) {
  return train(be, N, BatchSource{make_batch, true}, opt, on_epoch);
}

}  // namespace ef
