// DeviceBackend<Exec>: the TabularModel (engine/tabular_model.hpp) run on "a device" through an
// executor, behind the same Backend interface and ParamLayout as the CPU reference.
//
// The executor owns memory and runs three kinds of work (engine/host_exec.hpp,
// kernels/cuda_exec.cuh):
//   for_each(n, op)   op(i) for i < n; op is a functor of kernels/ops/ (one CUDA kernel launch,
//                     or a host loop calling the very same EF_HD body)
//   gemm, colsum_add  cuBLAS / the CPU reference's BLAS
//   fused_mlp_*       a conditioner MLP's layers in one kernel per tile (kernels/ops/fused_mlp.hpp)
//   run_graph         capture once and replay (CUDA graphs), or run again (host)
// DeviceBackend<HostExec> is compiled in every build and tested against the CPU backend
// (tests/unit/test_device_backend.cpp); DeviceBackend<CudaExec> is the CUDA backend
// (engine/cuda_backend.cu), tested the same way on a GPU (tests/gpu/test_cuda_backend.cpp).
//
// Memory: one flat buffer each for params, grads and both Adam moments (the model's
// ParamLayout), plus per-layer activations for `capacity` rows, allocated once and regrown only
// when a bigger batch arrives. Forward keeps every layer's input and conditioner activations
// for backward, like the CPU's caches. A conditioner input wider than kFusedMaxWidth (one-hot
// codes of a many-label column) is not copied per layer: its first layer gathers the context's
// weights from the codes (see Mlp), so the per-row buffers grow with the labels only by the
// feature row and the categorical logits and their gradient.
//
// Host-side work (documented, not per step): init_params and init_from_data run the CPU model on
// a downloaded copy of the parameters; sampling with --given values (enumeration / importance
// resampling) runs the CPU model's sampler on the device's parameters. Everything per step or per
// row (forward, backward, Adam, score, ancestral sampling, shuffling, batch gathers) runs on the
// executor.
//
// Resident training (docs/ARCHITECTURE.md, "One training step"): upload_dataset once,
// shuffle_epoch on the device, resident_step gathers a batch by index and runs forward +
// backward + Adam, optionally as one captured graph replayed every step; losses go to a device
// ring read back every K steps.
// Streamed training (host/stream_schedule.hpp): the host stages chunks of batches in two
// pinned slots; each is copied on the copy stream while the compute stream trains on the other.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/cat_ops.hpp"
#include "ops/ctx_ops.hpp"
#include "ops/data_ops.hpp"
#include "ops/flow_ops.hpp"
#include "ops/fused_mlp.hpp"
#include "ops/mlp_ops.hpp"
#include "backend.hpp"
#include "batch_plan.hpp"
#include "coupling_split.hpp"
#include "device_buffer.hpp"
#include "device_grad_sum.hpp"
#include "error.hpp"
#include "flow.hpp"
#include "made_incremental.hpp"
#include "spline_math.hpp"

namespace ef {

template <class Exec>
class DeviceBackend final : public Backend, public DeviceTraining {
 public:
  explicit DeviceBackend(const TabularSpec& spec);
  ~DeviceBackend() override;
  DeviceBackend(const DeviceBackend&) = delete;
  DeviceBackend& operator=(const DeviceBackend&) = delete;

  std::string name() const override { return Exec::name(); }
  const TabularSpec& spec() const override { return model_.spec(); }
  size_t num_params() const override { return n_; }
  double flops_per_row() const override { return model_.flops_per_row(); }

  void init_params() override;
  void init_from_data(const int* codes, const float* u, int N) override;
  std::vector<float> get_params() const override { return download_vec(params_, n_); }
  void set_params(const std::vector<float>& p) override;
  std::vector<float> get_grads() const override { return download_vec(grads_, n_); }

  double forward(const int* codes, const float* u, int B) override;
  void backward() override;
  void adam_step(const AdamConfig& cfg) override;
  void reset_optimizer() override;
  void score(const int* codes, const float* u, int B, float* logp) override;
  void sample(int n, uint64_t seed, uint64_t row_offset, const Given<float>* given, int* codes,
              float* u, SampleInfo* info) override;

  DeviceTraining* device_training() override { return this; }
  void poison_scratch() override;
  void set_fused_mlp(bool on) override { fused_on_ = on; }

  // ---- Resident training (the host scheduler's device half) ----
  // Copies N encoded rows to the device once (replacing any earlier upload).
  void upload_dataset(const int* codes, const float* u, int N) override;
  int resident_rows() const { return n_rows_; }
  // The epoch's batch order: a permutation of the resident rows computed on the device
  // (shuffle_permutation in host/resident_schedule.hpp is the same on the host). Batches then
  // start from row 0 of the permutation.
  void shuffle_epoch(uint64_t seed, uint64_t epoch);
  // One training step on the next B rows of the permutation (this rank's slice of them under
  // set_data_parallel): gather, forward, backward, [gradient sum,] Adam.
  // use_graph: the whole step is captured once as a graph (per B and Adam betas) and replayed.
  // The step's mean log p goes to slot (step % K) of a device ring (K = loss_ring).
  void resident_step(int B, const AdamConfig& cfg, bool use_graph);
  // The mean log p of every step since the last call (at most loss_ring of them): the only
  // device-to-host copy of a resident epoch, made every K steps.
  std::vector<double> read_losses();
  void set_loss_ring(int K) override;
  int loss_ring() const { return ring_K_; }
  // One epoch of the scheduler: shuffle on the device, then plan_epoch(rows, batch_size) steps,
  // reading the losses back every loss_ring() steps and after the last. Returns every step's
  // mean log p.
  std::vector<double> resident_epoch(uint64_t seed, uint64_t epoch, int batch_size,
                                     const AdamConfig& cfg, bool use_graph) override;
  // Current permutation (for tests).
  std::vector<int> permutation() const override;
  std::vector<int> permutation_rows(int begin, int end) const override;
  size_t resident_bytes_per_row() const override {
    return size_t(G_) * sizeof(int) + size_t(D_) * sizeof(float) + 2 * sizeof(uint64_t) +
           2 * sizeof(int);
  }
  size_t free_bytes() const override { return exec_.free_bytes(); }
  // Bytes of the per-capacity buffers (activations and scratch for the rows reserved so far).
  size_t workspace_bytes() const {
    size_t s = 0;
    for (const DeviceBuffer<Exec>& b : acts_.buffers()) s += b.bytes();
    return s;
  }

  // ---- Streamed training (engine/device_backend_stream.hpp) ----
  void begin_stream(int batch, int batches_per_chunk) override;
  StreamSlot stage(int slot) override;
  void submit_chunk(int slot, int batches, const AdamConfig& cfg, bool use_graph) override;
  std::vector<double> collect_losses(bool all) override;
  void end_stream() override;
  void release_data() override { free_data(); }
  void set_data_parallel(DeviceGradSum* sum, int rank, int ranks) override;
  bool grads_in_host_memory() const override { return Exec::host_memory(); }

 private:
  struct Mlp {
    std::vector<int> sizes;
    std::vector<size_t> w_off, b_off;
    std::vector<const float*> mask;  // device; null = all ones (nothing to mask)
    ops::Act act = ops::Act::ReLU;
    std::vector<float*> h;  // h[l] (cap, sizes[l]) for 0 < l < L: hidden activations
    // The first layer reads input columns [0, na) from a dense buffer (the caller's X) and,
    // when the input is wider than the fused kernels take, the rest [na, sizes[0]) from the
    // rows' codes and values (ctx_n items, kernels/ops/ctx_ops.hpp): a one-hot block of
    // thousands of labels is then never materialized per row. ctx_n == 0: X holds every column.
    int na = 0;
    int ctx_n = 0;
    const int* ctx_grp = nullptr;  // device, (ctx_n) each
    const int* ctx_col = nullptr;
    const int* ctx_dim = nullptr;
    int L() const { return int(sizes.size()) - 1; }
  };
  // The conditioning items of a gathered first layer (see Mlp): host copies before upload.
  struct CtxItems {
    std::vector<int> grp, col, dim;
    void add(int g, int c, int d) {
      grp.push_back(g);
      col.push_back(c);
      dim.push_back(d);
    }
  };
  // A flow layer's structure (engine/flow_kinds.hpp: the registry entry of its kind) picks the
  // plan below, its transform the ops (kernels/ops/flow_ops.hpp); ActNorm and permutations are
  // the layers between flow steps.
  enum class Kind { Autoregressive, Coupling, ActNorm, Perm };
  // MAF / nsf-ar inverse: up to this many dimensions one fused kernel runs all D passes of a
  // tile (D x one network's FLOPs, one launch); above it, made_pass runs one degree's units
  // per pass (one network's FLOPs, ~(2L + 3) launches per pass). A guess until gpu_check.sh
  // measures both on the H200.
  static constexpr int kFusedArMaxDim = 16;
  struct LayerDev {
    Kind kind = Kind::Perm;
    FlowTransform transform = FlowTransform::Affine;  // Autoregressive / Coupling layers
    int D = 0, C = 0;
    int nt = 0, nP = 0;  // couplings: transformed / pass-through dims
    int W = 0, nout = 0;  // conditioner input and output widths
    const int* tr = nullptr;
    const int* pass = nullptr;
    const int* perm = nullptr;
    float clamp = 0, bound = 0;
    int K = 0;
    size_t logs = 0, bias = 0;  // ActNorm parameter offsets
    bool has_mlp = false;
    Mlp mlp;
    // (cap, W) packed conditioner input [x or pass | context], kept for backward; for a
    // gathered first layer (mlp.ctx_n > 0) only the pass columns of a coupling (cap, nP), and
    // nothing for an autoregressive layer (it reads x itself).
    float* in = nullptr;
    float* out = nullptr;  // (cap, nout) conditioner output (splines: softmax cached in place)
    // MAF / nsf-ar inverse, one degree's units per pass (engine/made_incremental.hpp):
    // inc_first[l][d] first unit of degree d in hidden layer l; inc_runs[g] the output column
    // runs [a, b) of degree g. Empty: the inverse re-runs the whole conditioner per pass.
    std::vector<std::vector<int>> inc_first;
    std::vector<std::vector<std::pair<int, int>>> inc_runs;
  };
  struct PartDev {
    int Gp = 0, Wp = 0, Dp = 0, go = 0, dof = 0, fo = 0;
    bool has_cat = false;
    Mlp cat_mlp;
    std::vector<int> off, lev;  // host copies (per group)
    const int* d_off = nullptr;
    const int* d_lev = nullptr;
    const int* d_grp = nullptr;  // (Wp) global group of one-hot column j
    const int* d_lvl = nullptr;  // (Wp) level of one-hot column j
    float* cat_in = nullptr;     // (cap, Wp + fo); none when cat_mlp gathers its input
    float* logits = nullptr;     // (cap, Wp)
    bool has_flow = false;
    std::vector<LayerDev> layers;
    std::vector<float*> acts;  // acts[0] = x, acts[l + 1] = output of layer l (cap, Dp)
    float* logdet = nullptr;   // (cap)
  };

  template <class T>
  T* alloc(BufferPool<Exec>& pool, size_t n) {
    return pool.template alloc<T>(n);
  }
  template <class T>
  const T* upload_fixed(const std::vector<T>& v) {
    T* p = alloc<T>(fixed_, v.size());
    exec_.upload(p, v.data(), v.size() * sizeof(T));
    return p;
  }
  std::vector<float> download_vec(const float* p, size_t n) const {
    std::vector<float> v(n);
    exec_.download(v.data(), p, n * sizeof(float));
    return v;
  }
  template <class T>
  void fill(T* p, size_t n, T v) {
    exec_.for_each(n, ops::Fill<T>{p, v});
  }

  Mlp make_mlp(const MaskedMLP<float>& m, Activation act);
  // Makes m's first layer gather input columns [na, sizes[0]) (items) when sizes[0] exceeds
  // kFusedMaxWidth; narrower inputs stay packed (bounded by that width) so the fused kernels,
  // which read one dense tile, keep taking them.
  void gather_input(Mlp& m, int na, const CtxItems& items);
  // Items for feature columns [0, n) (one-hot groups and continuous dims) at input column c0 + j.
  void add_feature_items(CtxItems& items, int n, int c0) const;
  ops::CtxInput ctx_input(const Mlp& m) const {
    return ops::CtxInput{m.ctx_grp, m.ctx_col, m.ctx_dim, m.ctx_n, codes_, G_, u_, D_};
  }
  // A flow layer's first-layer dense input: the packed buffer, or (gathered) x itself / the
  // packed pass columns; and its row stride.
  bool gathered(const LayerDev& L) const { return L.mlp.ctx_n > 0; }
  const float* layer_in(const LayerDev& L, const float* x) const {
    return gathered(L) && L.kind == Kind::Autoregressive ? x : L.in;
  }
  int layer_ld(const LayerDev& L) const { return L.mlp.na; }
  void pack_layer_input(LayerDev& L, const float* x, int B);
  void cat_logits(PartDev& P, int B);
  void build_part(int p);
  size_t find_tensor(const std::string& name) const;
  void reserve(int cap);  // activations for cap rows (frees the old ones; invalidates graphs)
  void ensure(int B) {
    if (B > cap_) reserve(B);
  }

  // The fused tile kernels (kernels/ops/fused_mlp.hpp) when every width is at most
  // kFusedMaxWidth (on chip at that size), else bias + GEMM + activation per layer (cuBLAS).
  bool fusable(const Mlp& m) const;
  ops::FusedMlp fused_desc(const Mlp& m) const;
  // X (B, m.na) with row stride ldx: the dense first-layer input columns (see Mlp).
  void mlp_forward(const Mlp& m, const float* X, int ldx, int B, float* Y);
  // dX (B, m.na): dL/d of the dense input columns only (a gathered context has no gradient).
  void mlp_backward(const Mlp& m, const float* X, int ldx, const float* dY, int B, float* dX);
  void write_features(int B, int j0, int n);
  void forward_device(int B);  // logp_ (B) and the batch mean in loss_ (device)
  void backward_device(int B);
  void adam_device(const AdamConfig& cfg);
  void upload_lr(float lr);
  void layer_forward(LayerDev& L, const float* x, int B, float* z, float* logdet);
  void layer_backward(LayerDev& L, const float* x, const float* dz, const float* dlogdet, int B,
                      float* dx);
  // Pass g of the autoregressive inverse: hidden units of degree g - 1, outputs of degree g.
  void made_pass(LayerDev& L, const float* x, int B, int g);
  // out[:, u0:u1] = act(in[:, :k] W_w[u0:u1, :k]^T + b_w[u0:u1]) for weight layer w of m.
  void dense_block(const Mlp& m, int w, const float* in, int ld_in, int k, int B, int u0, int u1,
                   float* out, int ld_out, bool activate);
  void layer_inverse(LayerDev& L, const float* z, int B, float* x);
  void sample_device(int B, uint64_t seed, uint64_t row_offset);
  // One step on rows [*start + first, *start + first + rows) of the permutation, then *start +=
  // advance; share scales the gradient before the data-parallel sum (set_data_parallel).
  void train_step(int rows, int first, int advance, float share, const AdamConfig& cfg,
                  bool use_graph);
  void free_data();  // the resident dataset or the stream's slots

  mutable Exec exec_;
  TabularModel<float> model_;  // metadata, and the host-side init / conditional sampling
  TabularWorkspace<float> host_ws_;
  size_t n_ = 0;
  int G_ = 0, D_ = 0, Fw_ = 0;
  std::vector<PartDev> parts_;
  // Allocation pools (engine/device_buffer.hpp: each buffer frees itself): the model, the
  // per-capacity activations, the dataset. Declared after exec_, so destroyed before it.
  BufferPool<Exec> fixed_{exec_, Memory::Device}, acts_{exec_, Memory::Device},
      data_{exec_, Memory::Device};
  float *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr;
  ops::AdamState* adam_ = nullptr;
  double* loss_ = nullptr;  // (1) mean log p of the last forward
  const int* feat_grp_ = nullptr;
  const int* feat_val_ = nullptr;
  // Widest hidden layer, dense first-layer input, output, part dims, layers.
  int max_h_ = 1, max_in_ = 1, max_out_ = 1, max_D_ = 1, max_L_ = 1;
  std::vector<int> feat_grp_h_, feat_val_h_;  // host copies of feat_grp_ / feat_val_
  bool fused_on_ = true;
  std::vector<float*> fused_dz_;  // (cap, max_h) per layer but the last: the fused backward's dZ
  // Per-capacity buffers.
  int cap_ = 0;
  int* codes_ = nullptr;  // (cap, G)
  float *u_ = nullptr, *F_ = nullptr, *logp_ = nullptr, *dlogp_ = nullptr;
  float *s0_ = nullptr, *s1_ = nullptr, *dout_ = nullptr, *din_ = nullptr;
  float *dcur_ = nullptr, *dnext_ = nullptr, *dlogdet_ = nullptr, *zbuf_ = nullptr,
        *xbuf_ = nullptr;
  int last_B_ = 0;
  long step_ = 0;
  float lr_on_device_ = NAN;
  // Resident data and scheduler state.
  int n_rows_ = 0;
  int* data_codes_ = nullptr;
  float* data_u_ = nullptr;
  uint64_t *keys_ = nullptr, *keys_sorted_ = nullptr;
  int *vals_ = nullptr, *perm_ = nullptr;
  int* start_ = nullptr;    // (1) first permutation row of the next batch
  int* counter_ = nullptr;  // (1) resident steps taken
  double* ring_ = nullptr;  // (K) loss ring
  int ring_K_ = 16;
  long steps_read_ = 0, steps_run_ = 0;
  int host_start_ = 0;
  // Streaming: the plan, per slot its staging memory, the event after its copy and the event
  // after the last step that read it, and the step count at the end of its latest chunk.
  bool streaming_ = false;
  StreamPlan stream_;
  BufferPool<Exec> staged_{exec_, Memory::PinnedHost};  // the slots' staging memory
  int* stage_codes_[kStreamSlots] = {};
  float* stage_u_[kStreamSlots] = {};
  typename Exec::Event copied_[kStreamSlots], consumed_[kStreamSlots];
  long slot_end_step_[kStreamSlots] = {};
  int last_slot_ = -1;
  // Data parallel (set_data_parallel): the sum, this rank, the ranks; a streamed step's share.
  DeviceGradSum* grad_sum_ = nullptr;
  int dp_rank_ = 0, dp_ranks_ = 1;
  float stream_share_ = 1.0f;
  // What the captured step was captured for: a change recaptures it.
  struct StepShape {
    int rows = 0, first = 0, advance = 0;
    float share = 1.0f;
    bool operator==(const StepShape& o) const {
      return rows == o.rows && first == o.first && advance == o.advance && share == o.share;
    }
  };
  typename Exec::Graph graph_;
  StepShape graph_shape_;
  AdamConfig graph_cfg_;
};

}  // namespace ef

#include "device_backend_impl.hpp"
#include "device_backend_stream.hpp"
