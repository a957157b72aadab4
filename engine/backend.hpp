// Backend: owns the parameter, gradient and Adam-moment buffers of one TabularModel and runs it.
// Coarse on purpose (whole forward, whole backward, whole optimizer step) so a device backend
// is free to fuse. All buffers share the TabularModel's ParamLayout. Rows are (codes (B, G)
// ints, u (B, D) floats), see tabular_model.hpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adam.hpp"
#include "tabular_model.hpp"

namespace ef {

class DeviceTraining;
class DeviceGradSum;  // engine/device_grad_sum.hpp

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual const TabularSpec& spec() const = 0;
  virtual size_t num_params() const = 0;
  virtual double flops_per_row() const = 0;

  virtual void init_params() = 0;  // deterministic from the spec's seed
  virtual void init_from_data(const int* codes, const float* u, int N) = 0;
  virtual std::vector<float> get_params() const = 0;
  virtual void set_params(const std::vector<float>& p) = 0;
  virtual std::vector<float> get_grads() const = 0;

  // Training step pieces. forward saves what backward needs and returns the batch mean of
  // log p; backward sets grads = d(mean NLL)/dparams; adam_step updates params in place.
  virtual double forward(const int* codes, const float* u, int B) = 0;
  virtual void backward() = 0;
  virtual void adam_step(const AdamConfig& cfg) = 0;
  virtual void reset_optimizer() = 0;
  // The flat gradient buffer in host memory, for data-parallel training (host/trainer.cpp sums
  // it over the ranks between backward() and adam_step()); null where the gradients live on a
  // device.
  virtual float* host_grads() { return nullptr; }

  // Inference: log p of B rows (no state kept for backward), and ancestral draws.
  virtual void score(const int* codes, const float* u, int B, float* logp) = 0;
  virtual void sample(int n, uint64_t seed, uint64_t row_offset, const Given<float>* given,
                      int* codes, float* u, SampleInfo* info) = 0;
  // The terms of log p per module (TabularModel::log_prob_terms), terms (B, modules): what
  // early stopping per module reads on the validation rows. This default runs the CPU
  // reference on a copy of the parameters; the CPU backend uses its own buffers.
  virtual void score_terms(const int* codes, const float* u, int B, float* terms);

  // The device half of resident training, on backends that have one (null on the CPU).
  virtual DeviceTraining* device_training() { return nullptr; }
};

// Host memory of one staged chunk of a streamed epoch (pinned on a GPU): rows (rows, G) codes
// and (rows, D) u, filled by the host in training order.
struct StreamSlot {
  int* codes = nullptr;
  float* u = nullptr;
  int rows = 0;
};

// Training on a device backend (docs/ARCHITECTURE.md; engine/device_backend.hpp; driven by
// host/device_trainer.hpp). Each step gathers its batch on the device and runs forward,
// backward and Adam (one replayed CUDA graph); the losses stay in a device ring read back every
// K steps. Two ways to feed the steps:
//   resident  the encoded rows are uploaded once and shuffled on the device every epoch;
//   streamed  the host writes the epoch's batches, in order, into two pinned staging slots; each
//             chunk is copied on a copy stream while the compute stream trains on the other.
class DeviceTraining {
 public:
  virtual ~DeviceTraining() = default;
  virtual void upload_dataset(const int* codes, const float* u, int N) = 0;
  virtual void set_loss_ring(int K) = 0;
  // One epoch: device shuffle (host/resident_schedule.hpp), plan_epoch(rows, batch_size)
  // steps; returns every step's batch-mean log p.
  virtual std::vector<double> resident_epoch(uint64_t seed, uint64_t epoch, int batch_size,
                                             const AdamConfig& cfg, bool use_graph) = 0;
  virtual std::vector<int> permutation() const = 0;  // the current epoch's row order
  // Rows [begin, end) of it (the trainer's accounting of the rows an epoch drops).
  virtual std::vector<int> permutation_rows(int begin, int end) const = 0;
  // Device bytes one resident row costs (data, shuffle keys, permutation), and the device
  // memory still free: the trainer's resident-or-streamed rule.
  virtual size_t resident_bytes_per_row() const = 0;
  virtual size_t free_bytes() const = 0;

  // Streaming (host/stream_schedule.hpp has the index rules): chunks of up to
  // batches_per_chunk batches of `batch` rows.
  virtual void begin_stream(int batch, int batches_per_chunk) = 0;
  // The staging memory of `slot`, once the copy of the chunk staged there before has read it.
  virtual StreamSlot stage(int slot) = 0;
  // Copies the staged chunk to the device (copy stream, after the steps that last read the
  // slot) and enqueues its `batches` steps (compute stream, after the copy). Returns at once.
  virtual void submit_chunk(int slot, int batches, const AdamConfig& cfg, bool use_graph) = 0;
  // Step losses not yet returned: all (waits for every step) or, without waiting for the chunk
  // just submitted, those of the chunks before it.
  virtual std::vector<double> collect_losses(bool all) = 0;
  virtual void end_stream() = 0;
  // Frees the device memory of the training rows (resident upload or stream slots): ef::train
  // calls it when training is over, so a fitted model does not keep its table on the GPU.
  virtual void release_data() = 0;

  // Data-parallel training over `ranks` processes (host/trainer.cpp, docs/SCALE.md); sum null
  // (the default): this process alone. Every step of a global batch of B rows then trains on
  // this rank's rows of it (batch_slice in engine/batch_plan.hpp): a resident step gathers
  // permutation rows [start + first, start + first + rows) and advances start by B; a streamed
  // run (begin_stream with the global B) stages and trains on the slice only. The gradient of
  // the slice's mean NLL is scaled by rows / B and summed over the ranks inside the step,
  // between backward and Adam, so every rank takes the Adam step of the global batch. sum must
  // outlive the training (or be replaced by another call).
  virtual void set_data_parallel(DeviceGradSum* sum, int rank, int ranks) = 0;
  // Whether the flat gradient buffer lives in host memory (the host executor): a host
  // communicator can sum it. False on a GPU: only a device collective (NCCL) can.
  virtual bool grads_in_host_memory() const = 0;

  // Conditioner MLPs through the fused tile kernels where the size rule allows (the default) or
  // always through per-layer GEMMs: the GPU tests and benchmarks compare the two.
  virtual void set_fused_mlp(bool on) = 0;
  // Fills every activation and scratch buffer with NaN (tests: a value the next call reads
  // without writing it first shows up as NaN).
  virtual void poison_scratch() = 0;
};

std::unique_ptr<Backend> make_cpu_backend(const TabularSpec& spec);
// The device backend (engine/device_backend.hpp) on the host executor: the CUDA backend's code
// with every kernel run as a host loop. For tests and debugging; slower than make_cpu_backend.
// make_backend("host-device", spec) makes it too, so tests reach it through Model::fit.
std::unique_ptr<Backend> make_host_device_backend(const TabularSpec& spec);

// CUDA availability, probed once on first use (never during static initialization). The CUDA
// backend is a module, libechoflow_cuda.so (engine/cuda_module.hpp), loaded only when the
// driver reports a device: without one, nothing of CUDA is loaded.
struct CudaInfo {
  bool compiled = false;  // the CUDA module was found (next to this binary or on its search path)
  int devices = 0;        // usable devices (0 without module, driver or device)
  std::string reason;     // why none is usable
  std::string module;     // the module's path, when found
};
const CudaInfo& cuda_info();

// "cpu" | "cuda" | "auto": auto takes the GPU when one is usable, else the CPU. "cuda" without
// a usable GPU (or without a CUDA backend for this model) is an error naming the reason.
// local_rank >= 0 (a data-parallel rank's rank on its node): a GPU backend runs on device
// device_for_local_rank(local_rank, devices) (engine/cuda_module.hpp), made current on the
// calling thread; -1: the thread's current device.
std::unique_ptr<Backend> make_backend(const std::string& device, const TabularSpec& spec,
                                      int local_rank = -1);

}  // namespace ef
