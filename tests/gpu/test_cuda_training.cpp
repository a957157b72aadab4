// The CUDA backend's training paths and fused MLP kernels (need a GPU; skipped without one):
//   * the fused conditioner-MLP kernels == the per-layer cuBLAS path (log p, every gradient),
//     at widths up to the fused limit and past it (where the size rule falls back to cuBLAS);
//   * Model::fit on "cuda": the resident schedule follows the CPU trainer and the host
//     executor's device code; a table forced to stream (max_resident_bytes = 0, chunks of 3
//     batches: both slots, ragged chunks, the copy stream and its events) equals the resident
//     run; a noisy table (streamed every epoch) follows the host executor.
#include <cmath>
#include <memory>
#include <vector>

#include "gpu_util.hpp"
#include "tests/unit/device_cases.hpp"
#include "tests/unit/training_cases.hpp"

using namespace efd;

TEST_CASE("cuda training: fused conditioner MLPs equal the cuBLAS path") {
  efg::require_gpu();
  std::vector<Named> v = specs();
  auto wide = make_spec(ef::FlowKind::MAF, {{{}, 9}}, 0, false, ef::Activation::ReLU, 17);
  wide.flow.hidden = {256, 256};  // the fused limit
  v.push_back({"maf, hidden 256", wide});
  auto wider = make_spec(ef::FlowKind::RealNVP, {{{}, 6}}, 0, false, ef::Activation::Tanh, 18);
  wider.flow.hidden = {300, 64};  // past it: cuBLAS either way
  v.push_back({"realnvp, hidden 300", wider});
  for (const Named& n : v) {
    for (int B : {33, 5000}) {
      CAPTURE(n.name);
      CAPTURE(B);
      auto cpu = ef::make_cpu_backend(n.spec);
      auto fused = ef::make_backend("cuda", n.spec);
      auto gemm = ef::make_backend("cuda", n.spec);
      gemm->device_training()->set_fused_mlp(false);
      const Rows rows = random_rows(n.spec, B, 71 + uint64_t(B));
      same_params(*cpu, *fused, rows, B, 72);
      gemm->set_params(cpu->get_params());
      fused->device_training()->poison_scratch();
      gemm->device_training()->poison_scratch();
      const double lf = fused->forward(rows.codes.data(), rows.u.data(), B);
      const double lg = gemm->forward(rows.codes.data(), rows.u.data(), B);
      CHECK(lf == doctest::Approx(lg).epsilon(1e-5));
      fused->backward();
      gemm->backward();
      check_close(fused->get_grads(), gemm->get_grads(), "fused vs cuBLAS grads", 2e-3, 1e-4);
      const double lc = cpu->forward(rows.codes.data(), rows.u.data(), B);
      CHECK(lf == doctest::Approx(lc).epsilon(1e-4));
      std::vector<float> sf(static_cast<size_t>(B)), sg(static_cast<size_t>(B));
      fused->score(rows.codes.data(), rows.u.data(), B, sf.data());
      gemm->score(rows.codes.data(), rows.u.data(), B, sg.data());
      check_close(sf, sg, "fused vs cuBLAS score", 1e-4, 1e-5);
    }
  }
}

TEST_CASE("cuda training: resident epochs follow the CPU and the host executor") {
  efg::require_gpu();
  using namespace eft_train;
  for (bool noisy : {false, true}) {
    for (ef::FlowKind kind : {ef::FlowKind::MAF, ef::FlowKind::RealNVP, ef::FlowKind::NSFAR}) {
      CAPTURE(noisy);
      CAPTURE(int(kind));
      const echoflow::Table t = table(600, noisy);
      const echoflow::Model cpu = echoflow::Model::fit(t, options(kind, "cpu"));
      const echoflow::Model emu = echoflow::Model::fit(t, options(kind, "host-device"));
      const echoflow::Model gpu = echoflow::Model::fit(t, options(kind, "cuda"));
      CHECK(gpu.training().schedule == (noisy ? "device streamed" : "device resident"));
      // cuBLAS and the device's expf/tanhf round differently: looser than the host executor's.
      same_trajectory(gpu.training(), emu.training(), 1e-3);
      same_trajectory(gpu.training(), cpu.training(), 1e-3);
    }
  }
}

TEST_CASE("cuda training: a table forced to stream equals the resident run") {
  efg::require_gpu();
  using namespace eft_train;
  const echoflow::Table t = table(3000, false);
  auto opt = options(ef::FlowKind::MAF, "cuda");
  opt.train.batch_size = 64;
  const echoflow::Model res = echoflow::Model::fit(t, opt);
  for (int chunk : {1, 3, 0}) {
    CAPTURE(chunk);
    opt.train.max_resident_bytes = 0;
    opt.train.stream_chunk_batches = chunk;  // 0: one chunk of the whole epoch
    const echoflow::Model str = echoflow::Model::fit(t, opt);
    CHECK(res.training().schedule == "device resident");
    CHECK(str.training().schedule == "device streamed");
    // Same kernels on the same rows in the same order: equal up to cuBLAS's run-to-run
    // determinism (exact in practice).
    same_trajectory(str.training(), res.training(), 1e-6);
  }
}

// Small cases for bench/gpu_check.sh's compute-sanitizer runs (memcheck, racecheck, synccheck):
// every fused kernel path (ragged tile, several k chunks, width 256, no dX) and a streamed run
// through both slots, the copy stream and its events.
TEST_CASE("cuda sanitizer: fused MLP kernels on a ragged tile") {
  efg::require_gpu();
  auto wide = make_spec(ef::FlowKind::MAF, {{{2}, 5}}, 0, false, ef::Activation::Tanh, 19);
  wide.flow.hidden = {256, 40};
  wide.flow.layers = 1;
  for (const Named& n : {specs()[0], Named{"maf, hidden 256/40", wide}}) {
    CAPTURE(n.name);
    const int B = 45;
    auto cpu = ef::make_cpu_backend(n.spec);
    auto dev = ef::make_backend("cuda", n.spec);
    const Rows rows = random_rows(n.spec, B, 81);
    same_params(*cpu, *dev, rows, B, 82);
    dev->device_training()->poison_scratch();
    const double ld = dev->forward(rows.codes.data(), rows.u.data(), B);
    const double lc = cpu->forward(rows.codes.data(), rows.u.data(), B);
    CHECK(ld == doctest::Approx(lc).epsilon(1e-4));
    dev->backward();
    cpu->backward();
    check_close(dev->get_grads(), cpu->get_grads(), "grads", 3e-3, 1e-4);
  }
}

TEST_CASE("cuda sanitizer: fused autoregressive inverse on a ragged tile") {
  efg::require_gpu();
  // specs()[0]: MAF with block C; specs()[4]: nsf-ar with block C. 45 rows: one full tile and a
  // ragged one, every pass of the fused inverse kernel (ops::fused_ar_inverse_tile).
  for (const Named& n : {specs()[0], specs()[4]}) {
    CAPTURE(n.name);
    const int N = 45, G = n.spec.groups(), D = n.spec.dims();
    auto cpu = ef::make_cpu_backend(n.spec);
    auto dev = ef::make_backend("cuda", n.spec);
    const Rows rows = random_rows(n.spec, N, 91);
    same_params(*cpu, *dev, rows, N, 92);
    std::vector<int> cc(size_t(N) * G), cd(cc.size());
    std::vector<float> uc(size_t(N) * D), ud(uc.size(), NAN);
    cpu->sample(N, 5, 0, nullptr, cc.data(), uc.data(), nullptr);
    dev->device_training()->poison_scratch();
    dev->sample(N, 5, 0, nullptr, cd.data(), ud.data(), nullptr);
    // Bounded, not skipped: at most 2 of the 45 rows may draw another category.
    same_draws(cd, ud, cc, uc, G, D, 2, 1e-3, 1e-3);
  }
}

TEST_CASE("cuda sanitizer: a short streamed run") {
  efg::require_gpu();
  using namespace eft_train;
  const echoflow::Table t = table(300, true);
  auto opt = options(ef::FlowKind::RealNVP, "cuda");
  opt.train.epochs = 2;
  opt.train.stream_chunk_batches = 2;
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  CHECK(m.training().schedule == "device streamed");
  CHECK(m.training().epochs_run == 2);
}
