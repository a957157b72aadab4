// The CUDA backend (DeviceBackend<CudaExec>, made by make_backend("cuda")) against the CPU
// reference and against the same backend code on the host executor, on the model specs of
// tests/unit/device_cases.hpp (gradients and sampling also on its 300-label wide_specs): forward
// log p, every gradient, score, a 10-step Adam loss trajectory, sampling with the same seeds,
// and the resident scheduler with the step captured as
// a CUDA graph == the same steps run eagerly. Device scratch is NaN-poisoned before each run and
// host outputs are NaN-filled, so anything a kernel fails to write shows.
// Tolerances are looser than the host-executor tests': cuBLAS sums in another order and the
// device's expf/logf/tanhf are not the host's polynomials.
#include <cmath>
#include <memory>
#include <vector>

#include "gpu_util.hpp"
#include "resident_schedule.hpp"
#include "tests/unit/device_cases.hpp"

using namespace efd;

namespace {

std::unique_ptr<ef::Backend> cuda_backend(const ef::TabularSpec& spec) {
  auto be = ef::make_backend("cuda", spec);
  REQUIRE(be->name() == "cuda");
  REQUIRE(be->device_training() != nullptr);
  return be;
}

void poison(ef::Backend& be) { be.device_training()->poison_scratch(); }

}  // namespace

TEST_CASE("cuda backend: auto picks the GPU") {
  efg::require_gpu();
  CHECK(ef::make_backend("auto", specs()[0].spec)->name() == "cuda");
}

TEST_CASE("cuda backend: log p, every gradient and score match the CPU and the host executor") {
  efg::require_gpu();
  for (const Named& n : all_specs()) {
    for (int B : {150, 4099}) {
      CAPTURE(n.name);
      CAPTURE(B);
      auto cpu = ef::make_cpu_backend(n.spec);
      auto emu = ef::make_host_device_backend(n.spec);
      auto dev = cuda_backend(n.spec);
      const Rows rows = random_rows(n.spec, B, 21 + uint64_t(B));
      same_params(*cpu, *dev, rows, B, 22);
      emu->set_params(cpu->get_params());
      CHECK(dev->get_params() == cpu->get_params());
      const double lc = cpu->forward(rows.codes.data(), rows.u.data(), B);
      const double le = emu->forward(rows.codes.data(), rows.u.data(), B);
      poison(*dev);
      const double ld = dev->forward(rows.codes.data(), rows.u.data(), B);
      CHECK(ld == doctest::Approx(lc).epsilon(1e-4));
      CHECK(ld == doctest::Approx(le).epsilon(1e-4));
      cpu->backward();
      emu->backward();
      dev->backward();
      check_close(dev->get_grads(), cpu->get_grads(), "grads vs cpu", 3e-3, 1e-4);
      check_close(dev->get_grads(), emu->get_grads(), "grads vs host executor", 3e-3, 1e-4);
      std::vector<float> sc(static_cast<size_t>(B)), sd(static_cast<size_t>(B), NAN);
      cpu->score(rows.codes.data(), rows.u.data(), B, sc.data());
      poison(*dev);
      dev->score(rows.codes.data(), rows.u.data(), B, sd.data());
      check_close(sd, sc, "score", 1e-4, 1e-5);
    }
  }
}

TEST_CASE("cuda backend: a 10-step Adam loss trajectory matches the CPU") {
  efg::require_gpu();
  for (const Named& n : specs()) {
    CAPTURE(n.name);
    const int B = 256;
    auto cpu = ef::make_cpu_backend(n.spec);
    auto dev = cuda_backend(n.spec);
    const Rows rows = random_rows(n.spec, 10 * B, 31);
    same_params(*cpu, *dev, rows, 10 * B, 32);
    ef::AdamConfig cfg;
    cfg.lr = 3e-3;
    for (int step = 0; step < 10; ++step) {
      CAPTURE(step);
      const int* c = rows.codes.data() + size_t(step) * B * n.spec.groups();
      const float* u = rows.u.data() + size_t(step) * B * n.spec.dims();
      const double lc = cpu->forward(c, u, B);
      poison(*dev);
      const double ld = dev->forward(c, u, B);
      CHECK(ld == doctest::Approx(lc).epsilon(1e-3));
      cpu->backward();
      dev->backward();
      cpu->adam_step(cfg);
      dev->adam_step(cfg);
    }
    // Adam moves every parameter by up to lr per step whatever its gradient's size, so a
    // gradient that is rounding noise on one side can move a weight by 10 lr: compare loosely.
    check_close(dev->get_params(), cpu->get_params(), "params after 10 steps", 1e-2, 1e-2);
  }
}

TEST_CASE("cuda backend: samples match the CPU's draws with the same seed") {
  efg::require_gpu();
  for (const Named& n : all_specs()) {
    CAPTURE(n.name);
    const int N = 2000, G = n.spec.groups(), D = n.spec.dims();
    auto cpu = ef::make_cpu_backend(n.spec);
    auto dev = cuda_backend(n.spec);
    const Rows rows = random_rows(n.spec, N, 41);
    same_params(*cpu, *dev, rows, N, 42);
    std::vector<int> cc(size_t(N) * G), cd(cc.size(), -7);
    std::vector<float> uc(size_t(N) * D), ud(uc.size(), NAN);
    cpu->sample(N, 77, 1000, nullptr, cc.data(), uc.data(), nullptr);
    // Fused kernels on (the autoregressive inverses in one kernel per layer), then off (the
    // per-degree GEMM blocks of made_pass, cuBLAS conditioners).
    for (bool fused : {true, false}) {
      CAPTURE(fused);
      dev->device_training()->set_fused_mlp(fused);
      poison(*dev);
      std::fill(cd.begin(), cd.end(), -7);
      std::fill(ud.begin(), ud.end(), NAN);
      dev->sample(N, 77, 1000, nullptr, cd.data(), ud.data(), nullptr);
      // At most 1 row in 200 may draw another category (a uniform within rounding of a
      // boundary); every other row's continuous values match.
      same_draws(cd, ud, cc, uc, G, D, N / 200, 1e-3, 1e-3);
    }
  }
}

TEST_CASE("cuda backend: resident epochs, graph replay == eager, and both match the CPU") {
  efg::require_gpu();
  for (const Named& n : {specs()[0], specs()[1], specs()[4]}) {
    CAPTURE(n.name);
    const int N = 3000, Bsz = 256;
    const Rows rows = random_rows(n.spec, N, 61);
    auto cpu = ef::make_cpu_backend(n.spec);
    auto graph = cuda_backend(n.spec);
    auto eager = cuda_backend(n.spec);
    same_params(*cpu, *graph, rows, N, 62);
    eager->set_params(cpu->get_params());
    ef::DeviceTraining* tg = graph->device_training();
    ef::DeviceTraining* te = eager->device_training();
    tg->upload_dataset(rows.codes.data(), rows.u.data(), N);
    te->upload_dataset(rows.codes.data(), rows.u.data(), N);
    tg->set_loss_ring(4);
    ef::AdamConfig cfg;
    cfg.lr = 2e-3;
    for (uint64_t epoch = 1; epoch <= 2; ++epoch) {
      CAPTURE(epoch);
      tg->poison_scratch();
      te->poison_scratch();
      const auto lg = tg->resident_epoch(9, epoch, Bsz, cfg, true);
      const auto le = te->resident_epoch(9, epoch, Bsz, cfg, false);
      const auto perm = ef::shuffle_permutation(N, 9, epoch);
      CHECK(tg->permutation() == perm);
      const std::vector<double> lc = cpu_epoch(*cpu, rows, perm, Bsz, cfg);
      REQUIRE(lg.size() == lc.size());
      REQUIRE(le.size() == lc.size());
      for (size_t i = 0; i < lc.size(); ++i) {
        CHECK(lg[i] == le[i]);  // the replayed graph runs the same kernels in the same order
        CHECK(lg[i] == doctest::Approx(lc[i]).epsilon(1e-3));
      }
    }
    CHECK(graph->get_params() == eager->get_params());
  }
}
