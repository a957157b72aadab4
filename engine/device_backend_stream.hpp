// DeviceBackend<Exec>: streamed training (included by device_backend.hpp). The index rules are
// host/stream_schedule.hpp; the executor's copy stream, pinned memory and events are in
// kernels/cuda_exec.cuh (engine/host_exec.hpp: the same calls, all synchronous).
//
// A chunk's life, for slot s (chunk g of the run, s = g % 2):
//   host    stage(s): waits for copied[s] (the copy of chunk g - 2 has read the staging memory),
//           then the trainer writes the chunk's batches there
//   copy    waits for consumed[s] (chunk g - 2's last step has read the device slot), copies,
//           records copied[s]
//   compute waits for copied[s], sets the batch start to the slot's first row, runs the steps
//           (each a replayed graph gathering rows start..start+B of the identity order),
//           records consumed[s]
// so the host encodes chunk g + 1 and the copy stream uploads it while chunk g trains.
#pragma once

namespace ef {

template <class Exec>
void DeviceBackend<Exec>::free_data() {
  if (streaming_) {
    for (int s = 0; s < kStreamSlots; ++s) {
      exec_.host_wait(copied_[s]);  // nothing may still read or write what is freed below
      exec_.host_wait(consumed_[s]);
    }
  }
  // Also after a begin_stream that threw part way (streaming_ still false).
  staged_.clear();
  for (int s = 0; s < kStreamSlots; ++s) {
    exec_.event_free(copied_[s]);
    exec_.event_free(consumed_[s]);
    stage_codes_[s] = nullptr;
    stage_u_[s] = nullptr;
  }
  streaming_ = false;
  data_.clear();
  exec_.reset_graph(graph_);  // it gathers from the freed rows
  n_rows_ = 0;
  steps_read_ = steps_run_;  // losses left unread belong to the data just dropped
}

template <class Exec>
void DeviceBackend<Exec>::begin_stream(int batch, int batches_per_chunk) {
  EF_CHECK(batch >= 1 && batches_per_chunk >= 1, "begin_stream: bad chunk shape ", batch, " x ",
           batches_per_chunk);
  free_data();
  // Data parallel: the slots hold this rank's slice of every global batch of `batch` rows.
  const BatchSlice sl = grad_sum_ ? batch_slice(batch, dp_rank_, dp_ranks_) : BatchSlice{0, batch};
  EF_CHECK(sl.rows >= 1, "begin_stream: a batch of ", batch, " rows over ", dp_ranks_, " ranks");
  stream_share_ = float(double(sl.rows) / double(batch));
  stream_.batch = sl.rows;
  stream_.batches_per_chunk = batches_per_chunk;
  const size_t rows = size_t(stream_.device_rows()), chunk = size_t(stream_.chunk_rows());
  EF_CHECK(rows < size_t(1) << 31, "begin_stream: ", rows, " device rows are too many");
  data_codes_ = alloc<int>(data_, rows * G_);
  data_u_ = alloc<float>(data_, rows * D_);
  perm_ = alloc<int>(data_, rows);
  exec_.for_each(rows, ops::Iota{perm_});  // chunks arrive in training order
  for (int s = 0; s < kStreamSlots; ++s) {
    stage_codes_[s] = staged_.template alloc<int>(chunk * G_);
    stage_u_[s] = staged_.template alloc<float>(chunk * D_);
    exec_.event_init(copied_[s]);
    exec_.event_init(consumed_[s]);
    slot_end_step_[s] = steps_run_;
  }
  last_slot_ = -1;
  n_rows_ = int(rows);  // only now: a throw above leaves no device rows
  streaming_ = true;
  // Exactly two chunks of slots, so a lagged read that falls behind shows as a full ring.
  if (ring_K_ != stream_.ring()) set_loss_ring(stream_.ring());
}

template <class Exec>
StreamSlot DeviceBackend<Exec>::stage(int slot) {
  EF_CHECK(streaming_ && slot >= 0 && slot < kStreamSlots, "stage: no stream slot ", slot);
  exec_.host_wait(copied_[slot]);
  return {stage_codes_[slot], stage_u_[slot], stream_.chunk_rows()};
}

template <class Exec>
void DeviceBackend<Exec>::submit_chunk(int slot, int batches, const AdamConfig& cfg,
                                       bool use_graph) {
  EF_CHECK(streaming_ && slot >= 0 && slot < kStreamSlots, "submit_chunk: no stream slot ", slot);
  EF_CHECK(batches >= 1 && batches <= stream_.batches_per_chunk, "submit_chunk: ", batches,
           " batches do not fit a chunk of ", stream_.batches_per_chunk);
  const int B = stream_.batch, row0 = slot_first_row(slot, stream_);
  const size_t rows = size_t(batches) * B;
  exec_.copy_wait(consumed_[slot]);
  exec_.upload_on_copy(data_codes_ + size_t(row0) * G_, stage_codes_[slot],
                       rows * G_ * sizeof(int));
  exec_.upload_on_copy(data_u_ + size_t(row0) * D_, stage_u_[slot], rows * D_ * sizeof(float));
  exec_.record_copy(copied_[slot]);
  exec_.compute_wait(copied_[slot]);
  // A kernel, not an upload: an upload would wait for the steps still running on the other slot.
  fill(start_, size_t(1), row0);
  host_start_ = row0;
  for (int k = 0; k < batches; ++k) train_step(B, 0, B, stream_share_, cfg, use_graph);
  exec_.record_compute(consumed_[slot]);
  slot_end_step_[slot] = steps_run_;
  last_slot_ = slot;
}

template <class Exec>
std::vector<double> DeviceBackend<Exec>::collect_losses(bool all) {
  if (all || last_slot_ < 0) return read_losses();
  // The chunk before the last one submitted: its steps end at slot_end_step_[prev], and the
  // copy stream reads the ring once consumed[prev] has happened, while the compute stream goes
  // on with the last chunk (whose steps write other ring slots: the ring holds two chunks).
  const int prev = (last_slot_ + kStreamSlots - 1) % kStreamSlots;
  const long upto = slot_end_step_[prev];
  std::vector<double> out;
  if (upto <= steps_read_) return out;
  std::vector<double> ring(static_cast<size_t>(ring_K_));
  exec_.download_after(ring.data(), ring_, ring.size() * sizeof(double), consumed_[prev]);
  for (long s = steps_read_; s < upto; ++s) out.push_back(ring[size_t(s % ring_K_)]);
  steps_read_ = upto;
  return out;
}

template <class Exec>
void DeviceBackend<Exec>::end_stream() {
  free_data();
}

}  // namespace ef
