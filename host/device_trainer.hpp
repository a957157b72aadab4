// The epochs of ef::train (host/trainer.hpp) on a device backend (docs/ARCHITECTURE.md). Picks one
// of two schedules once, then runs epochs that see exactly the CPU loop's batches (the same
// split, shuffle_permutation order, batch size, dropped ragged batch and noise streams):
//   resident  rows that need no noise (BatchSource::noisy false) and whose encoding fits
//             max_resident_bytes are encoded once and uploaded; every epoch is then one device
//             shuffle and plan_epoch steps, losses read back every loss_every steps.
//   streamed  otherwise: every epoch the host encodes the shuffled batches (fresh dequantization
//             and fill noise from the CPU loop's streams) into pinned chunks that a copy stream
//             uploads while the compute stream trains on the previous chunk; losses are read a
//             chunk behind. Noise stays on the host because the column encoders (quantile maps,
//             atoms, bounds) live there; the per-epoch re-encode is the documented cost.
// Either way the training NLL is the CPU loop's sum over steps of -(mean log p) - logj / B.
// Over R ranks (comm, with a gradient sum set on the backend: DeviceTraining::set_data_parallel)
// every rank keeps the whole table and the same schedule (agreed: resident only when it fits on
// every rank), each step trains on the rank's slice of the global batch (streamed: the host
// encodes only that slice, with the noise its positions draw in the 1-process run), and run()
// returns the rank's share of the epoch's sum, which host/trainer.cpp sums over the ranks. No
// rank checks its own losses for divergence then (it would leave the others waiting in a
// collective); the trainer checks the global sum.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend.hpp"
#include "trainer.hpp"

namespace ef {

class Communicator;  // host/communicator.hpp

struct EpochSums {
  double sum = 0;   // sum over steps of the batch NLL in original units
  int batches = 0;  // steps taken
};

class DeviceEpochs {
 public:
  DeviceEpochs(DeviceTraining& dt, const std::vector<int>& train_idx, const BatchSource& source,
               const TrainOptions& opt, Communicator& comm);
  ~DeviceEpochs();
  DeviceEpochs(const DeviceEpochs&) = delete;
  DeviceEpochs& operator=(const DeviceEpochs&) = delete;

  bool resident() const { return resident_; }
  const char* schedule() const { return resident_ ? "device resident" : "device streamed"; }
  // One epoch (1-based); batch_counter numbers the noise streams as the CPU loop does.
  EpochSums run(int epoch, uint64_t& batch_counter);

 private:
  EpochSums run_resident(int epoch, uint64_t& batch_counter);
  EpochSums run_streamed(int epoch, uint64_t& batch_counter);

  DeviceTraining& dt_;
  const std::vector<int>& train_idx_;
  const BatchSource& source_;
  const TrainOptions& opt_;
  Communicator& comm_;
  bool resident_ = false;
  std::vector<double> row_logj_;  // resident: each training row's logj, in train_idx order
  double logj_total_ = 0;
  int per_chunk_ = 0;             // streamed: batches per chunk
  long chunks_ = 0;               // streamed: chunks submitted so far (slot alternation)
};

}  // namespace ef
