// GPU throughput of the CUDA backend on the workloads (bench/gpu_check.sh runs it; the
// PyTorch/zuko twin is bench/gpu/zuko_gpu.py, same shapes, same output format):
//   train   MAF and RealNVP, D in {8, 16, 64}, 5 layers, hidden [128, 128], batch 512..4096:
//           resident epochs (device shuffle, gather, forward, backward, Adam; one replayed CUDA
//           graph per step; losses read every 16 steps), with the fused conditioner MLPs and
//           with cuBLAS per layer;
//   sample  MAF (D passes per layer: one fused kernel per layer at D <= 16, per-degree GEMM
//           blocks above; counted as one forward pass) and RealNVP ancestral draws, 65536 rows.
// FLOPs per row are the model's dense count (2 x multiply-adds, masks included) of one forward
// pass; a training step counts 3 forward passes (forward, input and weight gradients).
// Output: one "RESULT key=value ..." line per measurement (bench/gpu/summary.py tabulates).
//
// usage: ef_gpu_train_bench [--dims 8,16,64] [--batches 512,1024,2048,4096] [--seconds 1.0]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "flow_spec.hpp"
#include "bench_util.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using efbench::parse_list;

ef::TabularSpec spec_for(ef::FlowKind kind, int D) {
  ef::TabularSpec s;
  s.flow.kind = kind;
  s.flow.layers = 5;
  s.flow.hidden = {128, 128};
  s.flow.permutation = ef::default_permutation(kind);
  s.parts = {{{}, D}};
  return s;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Rows/s of resident training: whole epochs of `steps` steps until `seconds` have passed.
double train_rate(ef::Backend& be, int D, int B, double seconds) {
  ef::DeviceTraining* dt = be.device_training();
  EF_CHECK(dt, "backend ", be.name(), " has no device training");
  const int steps = 32, N = steps * B;
  std::vector<float> u(size_t(N) * D);
  for (size_t i = 0; i < u.size(); ++i) u[i] = float(ef::math::rand_normal(1, 0, i));
  dt->upload_dataset(nullptr, u.data(), N);
  dt->set_loss_ring(16);
  ef::AdamConfig cfg;
  cfg.lr = 1e-5;  // the CPU benchmark's: the run does not drift
  dt->resident_epoch(0, 0, B, cfg, true);  // capture the graph, warm up
  long rows = 0;
  uint64_t epoch = 1;
  const auto t0 = clock_type::now();
  do {
    const std::vector<double> lp = dt->resident_epoch(0, epoch++, B, cfg, true);
    EF_CHECK(int(lp.size()) == steps, "resident epoch ran ", lp.size(), " steps");
    rows += long(N);
  } while (seconds_since(t0) < seconds);
  return double(rows) / seconds_since(t0);  // resident_epoch returns after its last read-back
}

double sample_rate(ef::Backend& be, int D, int n, double seconds) {
  std::vector<float> u(size_t(n) * D);
  be.sample(n, 1, 0, nullptr, nullptr, u.data(), nullptr);  // warm up
  long rows = 0;
  uint64_t seed = 2;
  const auto t0 = clock_type::now();
  do {
    be.sample(n, seed++, 0, nullptr, nullptr, u.data(), nullptr);
    rows += n;
  } while (seconds_since(t0) < seconds);
  return double(rows) / seconds_since(t0);
}

void result(const char* kind, const char* flow, int D, int B, const char* impl, double rate,
            double flop_row) {
  std::printf("RESULT kind=%s flow=%s D=%d batch=%d impl=%s rows_s=%.6g flop_row=%.6g "
              "tflops=%.4g\n",
              kind, flow, D, B, impl, rate, flop_row, rate * flop_row * 1e-12);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<int> dims{8, 16, 64}, batches{512, 1024, 2048, 4096};
  double seconds = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dims") dims = parse_list(argv[i + 1]);
    else if (a == "--batches") batches = parse_list(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else EF_THROW("unknown option ", a);
  }
  const ef::CudaInfo& ci = ef::cuda_info();
  EF_CHECK(ci.devices > 0, "no usable CUDA device: ", ci.reason);
  std::printf("# ef_gpu_train_bench: 5 layers, hidden [128, 128], fp32, %.1f s per point\n",
              seconds);
  const std::pair<ef::FlowKind, const char*> flows[] = {{ef::FlowKind::MAF, "maf"},
                                                        {ef::FlowKind::RealNVP, "realnvp"}};
  for (const auto& [kind, fname] : flows) {
    for (int D : dims) {
      auto be = ef::make_backend("cuda", spec_for(kind, D));
      be->init_params();
      const double f = be->flops_per_row();
      for (int B : batches) {
        be->device_training()->set_fused_mlp(true);
        result("train", fname, D, B, "echoflow", train_rate(*be, D, B, seconds), 3 * f);
        be->device_training()->set_fused_mlp(false);
        result("train", fname, D, B, "echoflow-cublas", train_rate(*be, D, B, seconds), 3 * f);
      }
      be->device_training()->set_fused_mlp(true);
      // Effective FLOPs of a MAF draw: one forward pass (what made_pass computes above D = 16;
      // the fused inverse kernel at D <= 16 does D x that on chip, zuko D x in GEMMs).
      const double fs = f;
      result("sample", fname, D, 65536, "echoflow", sample_rate(*be, D, 65536, seconds), fs);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ef_gpu_train_bench: %s\n", e.what());
  return 1;
}
