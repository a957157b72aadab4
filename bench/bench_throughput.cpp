// CPU throughput of the reference backend: training (forward + backward + Adam), scoring and
// sampling rows/s for MAF and RealNVP, with the FLOP rate this implies next to the OpenBLAS
// sgemm rate measured in the same run on the same shapes.
//   bench_throughput [--dims 2,16,64] [--hidden 128] [--layers 5] [--batch 512] [--threads 2]
//                    [--seconds 1.0] [--repeats 5] [--json OUT.json] [--workloads train,score,sample]
//                    [--clock wall|cpu]
// Timings are medians of `repeats` runs of at least `seconds` each, after a warm-up.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "backend.hpp"
#include "blas.hpp"
#include "flow_math.hpp"
#include "omp_env.hpp"

namespace {
using clock_type = std::chrono::steady_clock;

// --clock cpu: seconds of CPU time this process used (all its threads) instead of wall time. On a
// machine shared with other jobs this gives one thread's rate without the time the scheduler
// gave to others; with more threads it also counts their OpenMP spinning, so it is for A/B
// comparisons at --threads 1.
bool g_cpu_clock = false;
double now_seconds() {
  if (g_cpu_clock) {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
}

// Median over repeats of (work units per second), each run lasting at least `seconds`.
template <class F>
std::vector<double> rates(F&& step, double units_per_step, double seconds, int repeats) {
  for (int i = 0; i < 3; ++i) step();  // warm-up
  std::vector<double> r;
  for (int k = 0; k < repeats; ++k) {
    long n = 0;
    const double t0 = now_seconds();
    double dt = 0;
    do {
      step();
      ++n;
      dt = now_seconds() - t0;
    } while (dt < seconds);
    r.push_back(n * units_per_step / dt);
  }
  std::sort(r.begin(), r.end());
  return r;
}
double median(const std::vector<double>& v) { return v[v.size() / 2]; }

// sgemm GFLOP/s at (m, n, k), the rate every dense layer is measured against: OpenBLAS on one
// thread, or (par) the engine's gemm_par, OpenBLAS on fixed row tiles shared by the threads.
double sgemm_gflops(int m, int n, int k, double seconds, int repeats, bool par) {
  std::vector<float> a(size_t(m) * k, 0.5f), b(size_t(k) * n, 0.25f), c(size_t(m) * n);
  auto r = rates([&] {
                   if (par)
                     ef::gemm_par(false, true, m, n, k, 1.f, a.data(), k, b.data(), k, 0.f, c.data(), n);
                   else
                     ef::gemm(false, true, m, n, k, 1.f, a.data(), k, b.data(), k, 0.f, c.data(), n);
                 },
                 2.0 * m * n * k / 1e9, seconds, repeats);
  return median(r);
}
}  // namespace

int main(int argc, char** argv) {
  ef::ensure_bounded_omp_wait(argc, argv);
  CLI::App app{"EchoFlow CPU throughput benchmark"};
  std::vector<int> dims{2, 16, 64};
  int hidden = 128, layers = 5, batch = 512, threads = 2, repeats = 5;
  double seconds = 1.0;
  std::string json_out;
  std::vector<std::string> flows{"maf", "realnvp"};
  std::vector<std::string> workloads{"train", "score", "sample"};
  app.add_option("--flows", flows, "maf, realnvp, nsf-ar, nsf-coupling")->delimiter(',');
  app.add_option("--dims", dims)->delimiter(',');
  app.add_option("--hidden", hidden);
  app.add_option("--layers", layers);
  app.add_option("--batch", batch);
  app.add_option("--threads", threads);
  app.add_option("--seconds", seconds);
  app.add_option("--repeats", repeats);
  app.add_option("--json", json_out);
  std::string clock_name = "wall";
  app.add_option("--clock", clock_name, "wall (default) or cpu: process CPU time, for A/B runs at --threads 1 on a shared machine")
      ->check(CLI::IsMember({"wall", "cpu"}));
  app.add_option("--workloads", workloads, "train, score, sample (the others report 0; for profiling one)")
      ->delimiter(',')
      ->check(CLI::IsMember({"train", "score", "sample"}));
  CLI11_PARSE(app, argc, argv);
  g_cpu_clock = clock_name == "cpu";
  ef::set_num_threads(threads);

  nlohmann::json results = nlohmann::json::array();
  // "% of sgemm" is against the same-shape sgemm on the same threads (gemm_par at threads > 1).
  const double sg_one = sgemm_gflops(batch, hidden, hidden, seconds, repeats, false);
  const double sg_hidden =
      threads > 1 ? sgemm_gflops(batch, hidden, hidden, seconds, repeats, true) : sg_one;
  std::printf("OpenBLAS sgemm %dx%dx%d: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads (gemm_par)\n\n",
              batch, hidden, hidden, sg_one, sg_hidden, threads);
  std::printf("| flow | D | hidden | layers | batch | train rows/s | GFLOP/s | %% of sgemm | score rows/s | sample rows/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& flow_name : flows) {
    const ef::FlowKind kind = ef::flow_kind_from(flow_name);
    for (int D : dims) {
      ef::TabularSpec spec;
      spec.parts = {ef::PartSpec{{}, D}};
      spec.flow.kind = kind;
      spec.flow.layers = layers;
      spec.flow.hidden = {hidden, hidden};
      spec.flow.permutation = ef::default_permutation(kind);
      auto be = ef::make_cpu_backend(spec);
      be->init_params();
      std::vector<float> u(size_t(batch) * D), lp(batch), out(size_t(batch) * D);
      std::vector<int> codes(1), codes_out(1);
      for (size_t i = 0; i < u.size(); ++i) u[i] = float(ef::math::rand_normal(1, 2, i));
      ef::AdamConfig adam;
      adam.lr = 1e-5;  // tiny: the benchmark must not drift into a different regime
      auto runs = [&](const std::string& w) {
        return std::find(workloads.begin(), workloads.end(), w) != workloads.end();
      };
      const std::vector<double> skipped{0.0};
      auto train = !runs("train") ? skipped : rates([&] { be->forward(codes.data(), u.data(), batch); be->backward(); be->adam_step(adam); },
                         batch, seconds, repeats);
      auto score = !runs("score") ? skipped : rates([&] { be->score(codes.data(), u.data(), batch, lp.data()); }, batch, seconds, repeats);
      uint64_t off = 0;
      auto sample = !runs("sample") ? skipped : rates([&] { be->sample(batch, 7, off, nullptr, codes_out.data(), out.data(), nullptr); off += batch; },
                          batch, seconds, repeats);
      // Training does the forward GEMMs plus two backward GEMMs per layer (dX and dW): 3x.
      const double flops_row = 3.0 * be->flops_per_row();
      const double gflops = median(train) * flops_row / 1e9;
      std::printf("| %s | %d | %d | %d | %d | %.0f | %.1f | %.0f%% | %.0f | %.0f |\n", ef::to_string(kind), D,
                  hidden, layers, batch, median(train), gflops, 100 * gflops / sg_hidden, median(score),
                  median(sample));
      std::fflush(stdout);
      results.push_back({{"flow", ef::to_string(kind)}, {"D", D}, {"hidden", {hidden, hidden}},
                         {"layers", layers}, {"batch", batch}, {"threads", threads},
                         {"train_rows_per_s", {{"median", median(train)}, {"min", train.front()}, {"max", train.back()}}},
                         {"score_rows_per_s", {{"median", median(score)}, {"min", score.front()}, {"max", score.back()}}},
                         {"sample_rows_per_s", {{"median", median(sample)}, {"min", sample.front()}, {"max", sample.back()}}},
                         {"train_flops_per_row", flops_row}, {"train_gflops", gflops},
                         {"sgemm_gflops", sg_hidden}, {"repeats", repeats}});
    }
  }
  if (!json_out.empty()) std::ofstream(json_out) << results.dump(2) << "\n";
  return 0;
}
