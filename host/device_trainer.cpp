#include "device_trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "communicator.hpp"
#include "error.hpp"
#include "resident_schedule.hpp"
#include "stream_schedule.hpp"

namespace ef {

namespace {
// Rows encoded per call when the resident dataset is built (bounds the temporary Batch).
constexpr int kEncodeRows = 65536;

void check_finite(double loss, int epoch) {
  EF_CHECK(std::isfinite(loss), "training diverged at epoch ", epoch,
           " (non-finite loss); lower the learning rate");
}
}  // namespace

DeviceEpochs::DeviceEpochs(DeviceTraining& dt, const std::vector<int>& train_idx,
                           const BatchSource& source, const TrainOptions& opt, Communicator& comm)
    : dt_(dt), train_idx_(train_idx), source_(source), opt_(opt), comm_(comm) {
  EF_CHECK(opt.loss_every >= 1, "loss_every must be positive (got ", opt.loss_every, ")");
  const int n = int(train_idx.size());
  const size_t budget = opt.max_resident_bytes >= 0 ? size_t(opt.max_resident_bytes)
                                                    : dt.free_bytes() / 2;
  resident_ = !source.noisy && fits_resident(n, dt.resident_bytes_per_row(), budget);
  // Ranks sharing a GPU see different free memory: one schedule for all.
  if (comm.size() > 1) resident_ = comm.min(resident_ ? 1 : 0) == 1;
  if (resident_) {
    // Encode once (no noise: the stream is irrelevant), keeping each row's logj for the
    // training NLL of the rows an epoch actually uses.
    std::vector<int> codes;
    std::vector<float> u;
    Batch b;
    for (int r0 = 0; r0 < n && resident_; r0 += kEncodeRows) {
      const int m = std::min(kEncodeRows, n - r0);
      source.make(&train_idx[size_t(r0)], m, kTrainNoiseStream, b);
      if (b.row_logj.size() != size_t(m)) resident_ = false;  // no per-row terms: stream
      codes.insert(codes.end(), b.codes.begin(), b.codes.end());
      u.insert(u.end(), b.u.begin(), b.u.end());
      row_logj_.insert(row_logj_.end(), b.row_logj.begin(), b.row_logj.end());
    }
    if (resident_) {
      for (double v : row_logj_) logj_total_ += v;
      dt.upload_dataset(codes.data(), u.data(), n);
      dt.set_loss_ring(opt.loss_every);
      return;
    }
    row_logj_.clear();
  }
  const EpochPlan plan = plan_epoch(n, opt.batch_size);
  // Streamed rows cost their codes and u in each of the two device slots.
  const size_t bytes = dt.resident_bytes_per_row();
  per_chunk_ = stream_chunk_batches(plan.batch, bytes, plan.batches, opt.stream_chunk_batches);
  dt.begin_stream(plan.batch, per_chunk_);
}

DeviceEpochs::~DeviceEpochs() {
  try {
    dt_.release_data();
  } catch (...) {  // a destructor must not throw (it also runs while an error unwinds)
  }
}

EpochSums DeviceEpochs::run(int epoch, uint64_t& batch_counter) {
  return resident_ ? run_resident(epoch, batch_counter) : run_streamed(epoch, batch_counter);
}

EpochSums DeviceEpochs::run_resident(int epoch, uint64_t& batch_counter) {
  const int n = int(train_idx_.size());
  const EpochPlan plan = plan_epoch(n, opt_.batch_size);
  const std::vector<double> lp =
      dt_.resident_epoch(opt_.seed, uint64_t(epoch), opt_.batch_size, opt_.adam, true);
  EF_CHECK(int(lp.size()) == plan.batches, "device: ", lp.size(), " step losses for ",
           plan.batches, " steps");
  batch_counter += uint64_t(plan.batches);
  // The rows the epoch dropped (the ragged tail of the permutation) do not enter its NLL.
  double used = logj_total_;
  for (int r : dt_.permutation_rows(plan.batches * plan.batch, n)) used -= row_logj_[size_t(r)];
  EpochSums s;
  s.batches = plan.batches;
  if (comm_.size() > 1) {  // this rank's share; every rank holds every row's logj (rank 0 adds it)
    const double share = double(batch_slice(plan.batch, comm_.rank(), comm_.size()).rows) / plan.batch;
    for (double v : lp) s.sum -= v * share;
    if (comm_.rank() == 0) s.sum -= used / plan.batch;
    return s;
  }
  for (double v : lp) {
    check_finite(v, epoch);
    s.sum -= v;
  }
  s.sum -= used / plan.batch;
  return s;
}

EpochSums DeviceEpochs::run_streamed(int epoch, uint64_t& batch_counter) {
  const int n = int(train_idx_.size());
  const EpochPlan plan = plan_epoch(n, opt_.batch_size);
  const std::vector<int> perm = shuffle_permutation(n, opt_.seed, uint64_t(epoch));
  // This rank's rows of each batch (all of it in one process).
  const bool dp = comm_.size() > 1;
  const BatchSlice sl = dp ? batch_slice(plan.batch, comm_.rank(), comm_.size()) : BatchSlice{0, plan.batch};
  std::vector<int> rows(size_t(sl.rows));
  std::vector<double> logj;  // per step, in step order
  EpochSums s;
  auto take = [&](const std::vector<double>& lp) {
    for (double v : lp) {
      if (dp) {  // this rank's share of the step's NLL
        s.sum += (-v * sl.rows - logj[size_t(s.batches)]) / plan.batch;
      } else {
        check_finite(v, epoch);
        s.sum += -v - logj[size_t(s.batches)] / plan.batch;
      }
      ++s.batches;
    }
  };
  Batch b;
  for (const StreamChunk& c : plan_chunks(plan.batches, per_chunk_)) {
    const int slot = stream_slot(chunks_++);
    const StreamSlot st = dt_.stage(slot);
    for (int k = 0; k < c.count; ++k) {
      const size_t r0 = size_t(c.first + k) * plan.batch + size_t(sl.first);
      for (int r = 0; r < sl.rows; ++r) rows[size_t(r)] = train_idx_[size_t(perm[r0 + r])];
      if (dp)
        source_.slice(rows.data(), sl.rows, kTrainNoiseStream + batch_counter++, sl.first, b);
      else
        source_.make(rows.data(), sl.rows, kTrainNoiseStream + batch_counter++, b);
      const size_t at = size_t(k) * sl.rows;
      const size_t G = b.codes.size() / sl.rows, D = b.u.size() / sl.rows;
      std::memcpy(st.codes + at * G, b.codes.data(), b.codes.size() * sizeof(int));
      std::memcpy(st.u + at * D, b.u.data(), b.u.size() * sizeof(float));
      logj.push_back(b.logj_sum);
    }
    dt_.submit_chunk(slot, c.count, opt_.adam, true);
    take(dt_.collect_losses(false));
  }
  take(dt_.collect_losses(true));
  EF_CHECK(s.batches == plan.batches, "device: ", s.batches, " step losses for ", plan.batches,
           " steps");
  return s;
}

}  // namespace ef
