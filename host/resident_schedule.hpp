// The host half of resident training (data that fits is uploaded once and shuffled on the device
// each epoch): which rows each step reads. Plain host functions, so the batching and shuffling
// rules are tested on the CPU; DeviceBackend computes the same permutation on the device
// (ShuffleKeys + a stable key sort, kernels/ops/data_ops.hpp). The plan both halves share
// (plan_epoch, read_losses_after, kShuffleStreamBase) is engine/batch_plan.hpp.
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "batch_plan.hpp"
#include "flow_math.hpp"

namespace ef {

// The batch order of an epoch: rows sorted (stably) by the 64-bit key rand_u64(seed, 3000 + e,
// row). A key sort, not Fisher-Yates, because a device sorts in parallel. ef::train shuffles
// with it on every backend, so CPU, resident and streamed training see the same batches.
inline std::vector<int> shuffle_permutation(int n, uint64_t seed, uint64_t epoch) {
  // Keys computed once (a comparator hashing on every call costs 2 log n hashes per row);
  // ties, which a 64-bit key makes vanishingly rare, keep row order as a stable sort does.
  std::vector<std::pair<uint64_t, int>> k(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    k[size_t(i)] = {math::rand_u64(seed, kShuffleStreamBase + epoch, uint64_t(i)), i};
  std::sort(k.begin(), k.end());
  std::vector<int> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[size_t(i)] = k[size_t(i)].second;
  return p;
}

}  // namespace ef
