// DeviceBackend<HostExec> (the CUDA backend's code with every kernel run as a host loop over the
// same kernels/ops functors) against the CPU reference backend, on random tables and
// parameters: forward log p, every gradient, a 10-step Adam trajectory, score, sampling with the
// same seeds, and the resident scheduler (device shuffle, gathered batches, graph replay, loss
// ring) against the plain forward/backward/Adam loop.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "device_backend.hpp"
#include "device_cases.hpp"
#include "host_exec.hpp"
#include "resident_schedule.hpp"

extern template class ef::DeviceBackend<ef::HostExec>;

using HostDevice = ef::DeviceBackend<ef::HostExec>;
using namespace efd;

TEST_CASE("device backend (host executor): log p and every gradient match the CPU backend") {
  // all_specs(): the usual tables and the 300-label contexts the device gathers from codes
  for (const Named& n : all_specs()) {
    CAPTURE(n.name);
    const int B = 150;
    auto cpu = ef::make_cpu_backend(n.spec);
    HostDevice dev(n.spec);
    REQUIRE(dev.num_params() == cpu->num_params());
    const Rows rows = random_rows(n.spec, B, 21);
    same_params(*cpu, dev, rows, B, 22);
    CHECK(dev.get_params() == cpu->get_params());

    const double lc = cpu->forward(rows.codes.data(), rows.u.data(), B);
    dev.poison_scratch();  // nothing a run reads may be left over from an earlier one
    const double ld = dev.forward(rows.codes.data(), rows.u.data(), B);
    CHECK(ld == doctest::Approx(lc).epsilon(1e-5));
    cpu->backward();
    dev.backward();
    check_close(dev.get_grads(), cpu->get_grads(), "grads", 1e-3, 1e-5);

    std::vector<float> sc(B), sd(B, NAN);
    cpu->score(rows.codes.data(), rows.u.data(), B, sc.data());
    dev.poison_scratch();
    dev.score(rows.codes.data(), rows.u.data(), B, sd.data());
    check_close(sd, sc, "score");
    CHECK_THROWS_AS(dev.backward(), ef::Error);  // score leaves nothing to differentiate
  }
}

TEST_CASE("device backend (host executor): a 10-step Adam loss trajectory matches the CPU") {
  for (const Named& n : specs()) {
    CAPTURE(n.name);
    const int B = 120;
    auto cpu = ef::make_cpu_backend(n.spec);
    HostDevice dev(n.spec);
    const Rows rows = random_rows(n.spec, 10 * B, 31);
    same_params(*cpu, dev, rows, 10 * B, 32);
    ef::AdamConfig cfg;
    cfg.lr = 3e-3;
    cfg.weight_decay = 1e-4;
    for (int step = 0; step < 10; ++step) {
      CAPTURE(step);
      const int* c = rows.codes.data() + size_t(step) * B * n.spec.groups();
      const float* u = rows.u.data() + size_t(step) * B * n.spec.dims();
      if (step == 5) cfg.lr = 1e-3;  // a new learning rate reaches the device
      const double lc = cpu->forward(c, u, B);
      const double ld = dev.forward(c, u, B);
      CHECK(ld == doctest::Approx(lc).epsilon(1e-4));
      cpu->backward();
      dev.backward();
      cpu->adam_step(cfg);
      dev.adam_step(cfg);
    }
    check_close(dev.get_params(), cpu->get_params(), "params after 10 steps", 1e-3, 1e-5);
    cpu->reset_optimizer();
    dev.reset_optimizer();
    cpu->forward(rows.codes.data(), rows.u.data(), B);
    dev.forward(rows.codes.data(), rows.u.data(), B);
    cpu->backward();
    dev.backward();
    cpu->adam_step(cfg);
    dev.adam_step(cfg);
    check_close(dev.get_params(), cpu->get_params(), "params after a reset and a step", 1e-3,
                1e-5);
  }
}

TEST_CASE("device backend (host executor): samples equal the CPU's draws with the same seed") {
  for (const Named& n : specs()) {
    CAPTURE(n.name);
    const int N = 300;
    auto cpu = ef::make_cpu_backend(n.spec);
    HostDevice dev(n.spec);
    const Rows rows = random_rows(n.spec, N, 41);
    same_params(*cpu, dev, rows, N, 42);
    const int G = n.spec.groups(), D = n.spec.dims();
    std::vector<int> cc(size_t(N) * G), cd(cc.size(), -7);
    std::vector<float> uc(size_t(N) * D), ud(uc.size(), NAN);
    ef::SampleInfo ic, id;
    cpu->sample(N, 77, 1000, nullptr, cc.data(), uc.data(), &ic);
    dev.poison_scratch();
    dev.sample(N, 77, 1000, nullptr, cd.data(), ud.data(), &id);
    CHECK(cd == cc);
    check_close(ud, uc, "sampled u", 1e-3, 1e-4);
    CHECK(id.method == "ancestral");
    // In two chunks (rows [0, 100) and [100, 300) with their row offsets): the same draws.
    std::vector<int> c2(cc.size());
    std::vector<float> u2(uc.size());
    dev.sample(100, 77, 1000, nullptr, c2.data(), u2.data(), nullptr);
    dev.sample(N - 100, 77, 1100, nullptr, c2.data() + 100 * G, u2.data() + 100 * D, nullptr);
    CHECK(c2 == cd);
    CHECK(u2 == ud);
    // Without the fused kernels the autoregressive inverses take the per-degree GEMM blocks
    // (made_pass) and the couplings cuBLAS-style GEMMs: the same draws to rounding.
    dev.set_fused_mlp(false);
    std::vector<int> c3(cc.size());
    std::vector<float> u3(uc.size(), NAN);
    dev.poison_scratch();
    dev.sample(N, 77, 1000, nullptr, c3.data(), u3.data(), nullptr);
    CHECK(c3 == cc);
    check_close(u3, uc, "sampled u (unfused)", 1e-3, 1e-4);
  }
}

TEST_CASE("device backend (host executor): conditional sampling uses the device's parameters") {
  const Named n = specs()[0];  // part 0 is block C
  auto cpu = ef::make_cpu_backend(n.spec);
  HostDevice dev(n.spec);
  const Rows rows = random_rows(n.spec, 200, 51);
  same_params(*cpu, dev, rows, 200, 52);
  ef::Given<float> given;
  given.fixed = {1};
  given.codes = {2, -1, -1};
  given.u = {0.5f, 0, 0, 0};
  given.flow_counts = {1};
  const int N = 50, G = n.spec.groups(), D = n.spec.dims();
  std::vector<int> cc(size_t(N) * G), cd(cc.size());
  std::vector<float> uc(size_t(N) * D), ud(uc.size());
  cpu->sample(N, 5, 0, &given, cc.data(), uc.data(), nullptr);
  dev.sample(N, 5, 0, &given, cd.data(), ud.data(), nullptr);
  CHECK(cd == cc);
  CHECK(ud == uc);
  for (int r = 0; r < N; ++r) CHECK(cd[size_t(r) * G] == 2);
}

TEST_CASE("resident schedule: epoch plans, loss read-back points and the shuffle") {
  CHECK(ef::plan_epoch(1000, 256).batch == 256);
  CHECK(ef::plan_epoch(1000, 256).batches == 3);  // the ragged 232 rows are dropped
  CHECK(ef::plan_epoch(100, 256).batch == 100);   // tiny tables still train
  CHECK(ef::plan_epoch(100, 256).batches == 1);
  CHECK(ef::plan_epoch(0, 256).batches == 0);
  CHECK(ef::read_losses_after(3, 10, 4));
  CHECK_FALSE(ef::read_losses_after(4, 10, 4));
  CHECK(ef::read_losses_after(9, 10, 4));  // the last step of the epoch
  const auto p = ef::shuffle_permutation(1000, 7, 3);
  std::vector<int> seen(1000, 0);
  for (int i : p) ++seen[size_t(i)];
  CHECK(std::count(seen.begin(), seen.end(), 1) == 1000);
  CHECK(p != ef::shuffle_permutation(1000, 7, 4));
  CHECK(p == ef::shuffle_permutation(1000, 7, 3));
}

TEST_CASE("device backend (host executor): resident epochs equal the eager loop on the same batches") {
  for (const Named& n : {specs()[0], specs()[3]}) {
    CAPTURE(n.name);
    const int N = 500, Bsz = 64;
    const Rows rows = random_rows(n.spec, N, 61);
    auto cpu = ef::make_cpu_backend(n.spec);
    HostDevice graph(n.spec), eager(n.spec);
    same_params(*cpu, graph, rows, N, 62);
    eager.set_params(cpu->get_params());
    graph.upload_dataset(rows.codes.data(), rows.u.data(), N);
    eager.upload_dataset(rows.codes.data(), rows.u.data(), N);
    graph.set_loss_ring(3);
    ef::AdamConfig cfg;
    cfg.lr = 2e-3;
    for (uint64_t epoch = 1; epoch <= 2; ++epoch) {
      CAPTURE(epoch);
      const auto lg = graph.resident_epoch(9, epoch, Bsz, cfg, true);
      const auto le = eager.resident_epoch(9, epoch, Bsz, cfg, false);
      const auto perm = ef::shuffle_permutation(N, 9, epoch);
      CHECK(graph.permutation() == perm);
      // The CPU reference on the batches the permutation names.
      const std::vector<double> lc = cpu_epoch(*cpu, rows, perm, Bsz, cfg);
      REQUIRE(lg.size() == lc.size());
      REQUIRE(le.size() == lc.size());
      for (size_t i = 0; i < lc.size(); ++i) {
        CHECK(lg[i] == le[i]);  // graph replay == eager, exactly
        CHECK(lg[i] == doctest::Approx(lc[i]).epsilon(1e-4));
      }
    }
    CHECK(graph.get_params() == eager.get_params());
    check_close(graph.get_params(), cpu->get_params(), "params after 2 resident epochs", 1e-3,
                1e-5);
  }
}
