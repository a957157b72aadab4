// The host rules of streamed training (host/stream_schedule.hpp): chunks of an epoch, slot
// alternation across epochs, device rows of a slot, loss ring size, the resident rule.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "stream_schedule.hpp"

TEST_CASE("stream schedule: chunks cover every batch once, in order") {
  for (int batches : {0, 1, 5, 12, 13}) {
    for (int per : {1, 3, 4, 100}) {
      CAPTURE(batches);
      CAPTURE(per);
      const auto c = ef::plan_chunks(batches, per);
      int next = 0;
      for (const auto& k : c) {
        CHECK(k.first == next);
        CHECK(k.count >= 1);
        CHECK(k.count <= per);
        next += k.count;
      }
      CHECK(next == batches);
      CHECK(c.size() == size_t((batches + per - 1) / per));
    }
  }
}

TEST_CASE("stream schedule: slots alternate over the whole run and never overlap on the device") {
  ef::StreamPlan p;
  p.batch = 64;
  p.batches_per_chunk = 5;
  CHECK(p.chunk_rows() == 320);
  CHECK(p.device_rows() == 640);
  CHECK(p.ring() == 10);  // the unread previous chunk plus the chunk being written
  // Epochs of 3 chunks: the alternation continues across the epoch boundary, so chunk g always
  // reuses the slot of chunk g - 2 (never g - 1, which may still be training).
  std::vector<int> slots;
  for (long g = 0; g < 9; ++g) slots.push_back(ef::stream_slot(g));
  for (size_t g = 1; g < slots.size(); ++g) CHECK(slots[g] != slots[g - 1]);
  for (size_t g = 2; g < slots.size(); ++g) CHECK(slots[g] == slots[g - 2]);
  std::set<int> rows;
  for (int s = 0; s < ef::kStreamSlots; ++s)
    for (int r = 0; r < p.chunk_rows(); ++r) rows.insert(ef::slot_first_row(s, p) + r);
  CHECK(rows.size() == size_t(p.device_rows()));
  CHECK(*rows.rbegin() == p.device_rows() - 1);
}

TEST_CASE("stream schedule: chunk size and the resident rule") {
  CHECK(ef::stream_chunk_batches(256, 40, 1000, 7) == 7);   // given
  CHECK(ef::stream_chunk_batches(256, 40, 5, 7) == 5);      // at most the epoch
  CHECK(ef::stream_chunk_batches(256, 40, 0, 7) == 1);      // at least one
  const int k = ef::stream_chunk_batches(256, 40, 1 << 20, 0);  // about kStreamChunkBytes
  CHECK(size_t(k) * 256 * 40 <= ef::kStreamChunkBytes);
  CHECK(size_t(k + 1) * 256 * 40 > ef::kStreamChunkBytes);
  CHECK(ef::fits_resident(100, 40, 4000));
  CHECK_FALSE(ef::fits_resident(101, 40, 4000));
  CHECK_FALSE(ef::fits_resident(1, 40, 0));  // max_resident_bytes = 0 forces streaming
}
