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

class Communicator;  // host/communicator.hpp

// Training length, batch size and patience default to rules of the table's size
// (resolve_train_options): a 300-row table gets small batches and enough optimizer steps for
// its categorical model, a large one the usual epochs. Explicit values always win.
// The parameters adam.weight_decay acts on (TabularModel modules: each part's categorical model
// and flow). Auto: the categorical models when the decay is auto (kWeightDecayAuto), else all.
enum class DecayOn { All, Flow, Categorical, Auto };

struct TrainOptions {
  int epochs = 0;             // 0 = auto: enough epochs for kMinSteps steps, at least 50
  int batch_size = 0;         // 0 = auto: n_train / 32, clamped to [32, 512]
  AdamConfig adam;  // adam.weight_decay = kWeightDecayAuto: resolve_weight_decay's rule
  DecayOn decay_on = DecayOn::Auto;  // sets adam.decay_only from the model's modules
  // Share of the rows held out for early stopping; -1 = auto: 10%, but at least 100 rows up to
  // 20% of the table (kMinValRows), so a small table's early stopping is not decided by 30 rows.
  double validation_fraction = -1;
  // Epochs without improvement before stopping (0 = never stop; -1 = auto: 10 epochs or
  // kPatienceSteps steps, whichever is longer). Each module of the model (the categorical
  // model and the flow of every part) keeps the parameters of its own best validation epoch:
  // log p is a sum of their terms, each depending on its own parameters only, so the composite
  // is the best the run saw, and training stops once no module has improved for `patience`.
  int patience = -1;
  // Learning-rate drops before stopping (-1 = auto: kLrDrops): when no module has improved for
  // `patience` epochs, training returns to the best parameters, divides the step size by 10 and
  // goes on, up to this many times, then stops at the next stall. Small steps at the end settle
  // the flow into narrow modes that the full step size keeps jumping over.
  int lr_drops = -1;
  // Running average of the parameters over epochs (-1 = auto: kEma; 0 = none): after each
  // epoch's steps avg = ema avg + (1 - ema) params; validation, each module's best snapshot and
  // the final model use the average, training goes on from the raw parameters.
  double ema = -1;
  uint64_t seed = 0;
  // Device backends (host/device_trainer.hpp): the step losses are read back every
  // loss_every steps; training rows whose encoding exceeds max_resident_bytes (-1: half the
  // device's free memory) stream through pinned double buffers in chunks of
  // stream_chunk_batches batches (0: about 64 MiB a chunk).
  int loss_every = 16;
  int64_t max_resident_bytes = -1;
  int stream_chunk_batches = 0;
  // Data-parallel training over several processes (host/communicator.hpp, docs/SCALE.md); null
  // (or a communicator of one rank): this process alone. With R ranks in replicated mode every
  // rank holds the whole table and trains on its R-th of each global batch of batch_size rows.
  Communicator* comm = nullptr;
  // Sharded data (docs/SCALE.md): each rank holds its own rows (N is this rank's count). The
  // validation split is made per rank, batch_size, epochs and the auto rules count the rows of
  // all ranks, and each rank draws its share of every global batch from its own rows, in
  // proportion to its training rows.
  bool sharded = false;
};

// auto epochs: at least this many optimizer steps (auto_epoch_limit in host/trainer.cpp). A
// safety cap well above where validation and the learning-rate drops end a run (patience), so the
// limit does not cut a model that is still improving or has drops left; a large table's 50-epoch
// floor is already past it (at 300k rows the floor is 26k steps).
constexpr int kMinSteps = 16000;
constexpr int kPatienceSteps = 1000;  // auto patience: at least this many steps
constexpr int kMinValRows = 100;      // auto validation split: at least this many rows (<= 20%)
constexpr double kEma = 0;            // auto ema
constexpr int kLrDrops = 2;           // auto lr_drops (bench/results/QUALITY_DEFAULTS.md: BN and gridr gain)
// The options with the auto values (0 / -1 above) replaced by the rules for n_train rows.
TrainOptions resolve_train_options(const TrainOptions& opt, int n_train);

// Weight decay by the table's size (train.weight_decay "auto", opt-in): a small table can
// overfit the categorical model (a MADE of one-hot inputs), a large one does not.
// kWeightDecayAutoMax up to kWeightDecayFullRows training rows, falling linearly to 0 at
// kWeightDecayZeroRows, on the categorical models only. Not the default: it also flattens
// conditionals that must stay sharp (bench/results/QUALITY_DEFAULTS.md, branch small16b).
constexpr double kWeightDecayAuto = -1;  // adam.weight_decay: the rule below
constexpr double kWeightDecayAutoMax = 0.5;
constexpr int kWeightDecayFullRows = 1000;
constexpr int kWeightDecayZeroRows = 5000;
double auto_weight_decay(int n_train);
// adam.weight_decay and decay_on with their auto values resolved for n_train training rows:
// auto decay -> auto_weight_decay(n_train) (decay_on Auto -> Categorical); a given decay ->
// itself (decay_on Auto -> All).
TrainOptions resolve_weight_decay(const TrainOptions& opt, int n_train);

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
// Rows rows[0..B) that sit at positions first.. of a batch of the 1-process run: their noise
// is the noise those positions draw, so R ranks that each encode a slice of a batch together
// encode exactly the batch make(...) would (data-parallel training, host/trainer.cpp).
using BatchSliceFn = std::function<void(const int* rows, int B, uint64_t stream, int first, Batch& out)>;
struct BatchSource {
  BatchFn make;
  bool noisy = true;
  BatchSliceFn slice;  // needed for training over several ranks only
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
  int epochs = 0, batch_size = 0, patience = 0;  // the values used (auto resolved)
  int epochs_run = 0;
  int best_epoch = 0;
  double best_val_nll = 0;    // NaN without validation
  double final_train_nll = 0;
  bool stopped_early = false;
  int lr_drops = 0;                 // learning-rate drops taken (TrainOptions::lr_drops)
  std::vector<int> lr_drop_epochs;  // the epochs after which they were taken
  double ema = 0;                   // the running average's weight used (TrainOptions::ema; 0: none)
  double weight_decay = 0;          // the decay used (auto resolved; 0: none) and its modules:
  std::string decay_on;             // "all", "flow" or "categorical" ("" without decay)
  std::string choice;               // model choice by validation NLL (host/model_choice.hpp), "" if none
  // Block R's categorical model chosen after training (host/categorical_choice.hpp): "made (...)"
  // or "table (...)" with the validation figures; "" when not chosen (model.categorical_model
  // "made", or no categorical columns).
  std::string categorical_model;
  int n_train = 0, n_val = 0;
  double seconds = 0;
  std::string schedule;       // "host batches", "device resident" or "device streamed"
  // Over several ranks (host/communicator.hpp): steps' gradient sums, their bytes each, and the
  // seconds spent in them (waiting for the slowest rank included), next to the run's seconds.
  // How they were summed (host/grad_sum.hpp: "none", "host loop", "NCCL in the device step", ...);
  // inside a device step their time is part of the step's and is not measured separately.
  std::string grad_sum_path = "none";
  long grad_sums = 0;
  size_t grad_sum_bytes = 0;
  double grad_sum_seconds = 0;
  std::vector<EpochReport> history;
};

// Every backend shuffles with shuffle_permutation (host/resident_schedule.hpp) of the split's
// training rows, so a device backend's resident or streamed epochs see the CPU loop's batches.
TrainResult train(Backend& be, int N, const BatchSource& source, const TrainOptions& opt,
                  const std::function<void(const EpochReport&)>& on_epoch);
inline TrainResult train(Backend& be, int N, const BatchFn& make_batch, const TrainOptions& opt,
                         const std::function<void(const EpochReport&)>& on_epoch) {
  return train(be, N, BatchSource{make_batch, true, {}}, opt, on_epoch);
}

}  // namespace ef
