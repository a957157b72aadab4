// The batch plan a device backend executes, shared by the engine's device backend (which runs
// it) and the host's scheduler (host/resident_schedule.hpp, host/stream_schedule.hpp, which
// chooses it): how an epoch splits into steps, when losses are read back, which random stream
// shuffles an epoch, and the two staging slots of streamed training. Only definitions both sides
// must agree on live here; the host's choices (chunk sizes, resident or streamed) stay in host/.
#pragma once
#include <algorithm>
#include <cstdint>

namespace ef {

// Random stream of epoch e's shuffle keys: rand_u64(seed, kShuffleStreamBase + e, row).
constexpr uint64_t kShuffleStreamBase = 3000;

// Batches of an epoch, like ef::train: B = min(batch_size, rows); the ragged last batch is
// dropped when a full one exists, so batch k reads permutation rows [k B, (k + 1) B).
struct EpochPlan {
  int batch = 0;
  int batches = 0;
};
inline EpochPlan plan_epoch(int rows, int batch_size) {
  EpochPlan e;
  if (rows <= 0 || batch_size <= 0) return e;
  e.batch = std::min(batch_size, rows);
  e.batches = rows / e.batch;
  return e;
}

// Data-parallel training (docs/SCALE.md): rank r of R trains on rows [first, first + rows) of
// each global batch of B rows, first = floor(B r / R). The slices tile the batch in rank order.
struct BatchSlice {
  int first = 0;
  int rows = 0;
};
inline BatchSlice batch_slice(int B, int rank, int ranks) {
  BatchSlice s;
  s.first = int(int64_t(B) * rank / ranks);
  s.rows = int(int64_t(B) * (rank + 1) / ranks) - s.first;
  return s;
}

// Steps after which the losses are read back: every K steps and after the epoch's last one.
inline bool read_losses_after(int step_in_epoch, int batches, int K) {
  return (step_in_epoch + 1) % K == 0 || step_in_epoch + 1 == batches;
}

// Streamed training's two slots: while the compute stream trains on one, the copy stream fills
// the other.
constexpr int kStreamSlots = 2;

struct StreamPlan {
  int batch = 0;              // rows per step
  int batches_per_chunk = 0;  // steps per chunk
  int chunk_rows() const { return batch * batches_per_chunk; }
  // Device rows of all slots: slot s holds rows [s chunk_rows, (s + 1) chunk_rows).
  int device_rows() const { return kStreamSlots * chunk_rows(); }
  // Loss ring slots: a lagged read (collect_losses(false)) leaves the previous chunk's losses
  // unread while the current chunk's steps write theirs, so two chunks' worth.
  int ring() const { return kStreamSlots * batches_per_chunk; }
};

// Where slot s's rows lie on the device.
inline int slot_first_row(int slot, const StreamPlan& p) { return slot * p.chunk_rows(); }

}  // namespace ef
