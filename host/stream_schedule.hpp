// The host half of streamed training (data that does not fit on the device, or whose batches
// need host-drawn noise every epoch, streams through pinned double buffers on a copy stream,
// overlapped with compute; the slots and StreamPlan both halves share are engine/batch_plan.hpp).
// Plain host functions, tested on the CPU (tests/unit/test_stream_schedule.cpp): how an epoch's batches split into chunks, which of the
// two slots a chunk uses and where its rows lie on the device, how large the loss ring must be,
// and when a dataset stays resident instead.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "batch_plan.hpp"

namespace ef {

// Default chunk size: large enough that a copy's fixed cost is negligible, small enough that
// two pinned and two device slots stay a few hundred MiB.
constexpr size_t kStreamChunkBytes = size_t(64) << 20;

// Steps per chunk: chunk_batches when given, else about kStreamChunkBytes of rows; at least 1
// and at most the epoch's batches.
inline int stream_chunk_batches(int batch, size_t bytes_per_row, int batches_per_epoch,
                                int chunk_batches) {
  int k = chunk_batches;
  if (k <= 0) {
    const size_t per_batch = std::max<size_t>(1, size_t(batch) * bytes_per_row);
    k = int(std::min<size_t>(kStreamChunkBytes / per_batch, size_t(1) << 20));
  }
  return std::max(1, std::min(k, std::max(1, batches_per_epoch)));
}

// An epoch's chunks: batches [first, first + count).
struct StreamChunk {
  int first = 0;
  int count = 0;
};
inline std::vector<StreamChunk> plan_chunks(int batches, int per_chunk) {
  std::vector<StreamChunk> v;
  for (int b = 0; per_chunk > 0 && b < batches; b += per_chunk)
    v.push_back({b, std::min(per_chunk, batches - b)});
  return v;
}

// Chunk g of the whole run (counted across epochs, so the alternation never restarts) uses slot
// g % kStreamSlots: the last reader of that slot is chunk g - 2, which an event orders before
// the copy, and the copy that last read its staging memory is chunk g - 2's too.
inline int stream_slot(long chunk) { return int(chunk % kStreamSlots); }

// The resident-or-streamed rule: resident when rows * bytes_per_row fits the budget.
inline bool fits_resident(long rows, size_t bytes_per_row, size_t budget) {
  return rows >= 0 && (bytes_per_row == 0 || size_t(rows) <= budget / bytes_per_row);
}

}  // namespace ef
