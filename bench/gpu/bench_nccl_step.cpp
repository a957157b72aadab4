// The data-parallel step on GPUs (bench/gpu_check.sh; bench/results/SCALE.md's projection):
// resident training steps of MAF, D = 16, 5 layers, hidden [128, 128] (bench_training.cpp's
// shape) timed without a gradient sum and with the NCCL allreduce inside the step (one replayed
// CUDA graph either way), on the ranks of the launcher (alone: an NCCL communicator of one rank,
// which measures NCCL's launch and copy cost but no interconnect). The allreduce's cost per step
// is the difference. One line per batch size:
//   NCCL_STEP ranks=R batch=B params=P bytes=S step_us=... step_nccl_us=... allreduce_us=...
//
// usage: [mpirun -np R] ef_gpu_nccl_bench [--batches 512,4096] [--steps 320]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "communicator.hpp"
#include "device_collective.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "flow_spec.hpp"
#include "bench_util.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

// Microseconds per step over `epochs` resident epochs of 32 steps (after one warm-up epoch that
// captures the graph); the losses read back every 16 steps are part of the time, as in training.
double step_us(ef::Backend& be, ef::Communicator& comm, int B, int epochs) {
  ef::DeviceTraining& dt = *be.device_training();
  const int D = be.spec().dims(), steps = 32, N = steps * B;
  std::vector<float> u(size_t(N) * D);
  for (size_t i = 0; i < u.size(); ++i) u[i] = float(ef::math::rand_normal(1, 0, i));
  dt.upload_dataset(nullptr, u.data(), N);
  dt.set_loss_ring(16);
  ef::AdamConfig cfg;
  cfg.lr = 1e-5;
  dt.resident_epoch(0, 0, B, cfg, true);
  std::vector<float> sync(1, 0.0f);
  comm.sum(sync.data(), 1);  // start together
  const auto t0 = clock_type::now();
  for (int e = 1; e <= epochs; ++e) dt.resident_epoch(0, uint64_t(e), B, cfg, true);
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  dt.release_data();
  return s / (double(epochs) * steps) * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    ef::Communicator& comm = ef::world(&argc, &argv);
    std::vector<int> batches{512, 4096};
    int steps = 320;
    for (int i = 1; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--batches")) batches = efbench::parse_list(argv[i + 1]);
      else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
      else EF_THROW("unknown option ", argv[i]);
    }
    ef::TabularSpec spec;
    spec.flow.kind = ef::FlowKind::MAF;
    spec.flow.layers = 5;
    spec.flow.hidden = {128, 128};
    spec.flow.permutation = ef::default_permutation(spec.flow.kind);
    spec.parts = {{{}, 16}};
    auto plain = ef::make_backend("cuda", spec, comm.local_rank());
    auto with = ef::make_backend("cuda", spec, comm.local_rank());
    plain->init_params();
    with->init_params();
    ef::NcclId id;
    if (comm.rank() == 0) id = ef::nccl_unique_id();
    comm.broadcast(id.bytes, sizeof id.bytes, 0);
    const auto sum = ef::make_nccl_grad_sum(id, comm.rank(), comm.size());
    with->device_training()->set_data_parallel(sum.get(), comm.rank(), comm.size());
    const int epochs = std::max(1, steps / 32);
    for (int B : batches) {
      // Each rank's slice of a global batch of B rows per rank (weak scaling: B rows per GPU).
      const double a = step_us(*plain, comm, B, epochs);
      const double b = step_us(*with, comm, B * comm.size(), epochs);
      if (comm.rank() == 0)
        std::printf("NCCL_STEP ranks=%d batch=%d params=%zu bytes=%zu step_us=%.1f step_nccl_us=%.1f "
                    "allreduce_us=%.1f (%s)\n",
                    comm.size(), B, plain->num_params(), plain->num_params() * sizeof(float), a, b, b - a,
                    sum->name().c_str());
    }
    with->device_training()->set_data_parallel(nullptr, 0, 1);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ef_gpu_nccl_bench: %s\n", e.what());
    return 1;
  }
}
