// ef::train on the device backend's code (DeviceBackend<HostExec>, device "host-device")
// through the public path (echoflow::Model::fit: column encoders, noise, split, early stopping)
// against the CPU trainer, for both device schedules:
//   resident  a table without noise: encoded once, shuffled on the "device" every epoch;
//   streamed  a table with an integer column and missing values (fresh noise every batch), and
//             the noise-free table forced to stream (max_resident_bytes = 0, small chunks).
// The batches are the same on every path, so per-epoch train and validation NLLs agree to
// float rounding (the CPU backend's block-triangular GEMMs sum in another order), and the
// epoch counts, best epochs and early stops agree exactly; streamed == resident exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "backend.hpp"
#include "flow_math.hpp"
#include "trainer.hpp"
#include "training_cases.hpp"

using namespace eft_train;

TEST_CASE("device training (host executor): resident and streamed epochs follow the CPU trainer") {
  for (bool noisy : {false, true}) {
    for (ef::FlowKind kind : {ef::FlowKind::MAF, ef::FlowKind::RealNVP, ef::FlowKind::NSFAR}) {
      CAPTURE(noisy);
      CAPTURE(int(kind));
      const echoflow::Table t = table(600, noisy);
      const echoflow::Model cpu = echoflow::Model::fit(t, options(kind, "cpu"));
      const echoflow::Model dev = echoflow::Model::fit(t, options(kind, "host-device"));
      CHECK(cpu.training().schedule == "host batches");
      CHECK(dev.training().schedule == (noisy ? "device streamed" : "device resident"));
      same_trajectory(dev.training(), cpu.training(), 2e-4);
      // The best epoch's parameters were restored on both: the scores agree.
      const auto sc = cpu.score(t), sd = dev.score(t);
      REQUIRE(sc.size() == sd.size());
      double worst = 0;
      for (size_t i = 0; i < sc.size(); ++i) worst = std::fmax(worst, std::fabs(sc[i] - sd[i]));
      CHECK(worst < 2e-2);
    }
  }
}

TEST_CASE("device training (host executor): a table forced to stream equals the resident run") {
  const echoflow::Table t = table(600, false);
  auto opt = options(ef::FlowKind::MAF, "host-device");
  const echoflow::Model res = echoflow::Model::fit(t, opt);
  for (int chunk : {1, 3, 4, 20}) {
    CAPTURE(chunk);
    opt.train.max_resident_bytes = 0;   // nothing fits: stream
    opt.train.stream_chunk_batches = chunk;  // 11 batches: ragged last chunks, both slots
    const echoflow::Model str = echoflow::Model::fit(t, opt);
    CHECK(res.training().schedule == "device resident");
    CHECK(str.training().schedule == "device streamed");
    same_trajectory(str.training(), res.training(), 1e-12);
    CHECK(str.score(t) == res.score(t));
  }
}

TEST_CASE("device training (host executor): a non-finite loss stops training as on the CPU") {
  // ef::train directly, with a batch source whose row 7 is NaN: whichever step reads it diverges.
  ef::TabularSpec spec;
  spec.flow.kind = ef::FlowKind::MAF;
  spec.flow.layers = 2;
  spec.flow.hidden = {8};
  spec.parts = {{{}, 2}};
  const int N = 300;
  ef::BatchSource src;
  src.noisy = false;
  src.make = [](const int* rows, int B, uint64_t, ef::Batch& b) {
    b.codes.clear();
    b.u.resize(size_t(B) * 2);
    b.row_logj.assign(size_t(B), 0.0);
    b.logj_sum = 0;
    for (int r = 0; r < B; ++r)
      for (int d = 0; d < 2; ++d)
        b.u[size_t(r) * 2 + d] =
            rows[r] == 7 ? NAN : float(ef::math::rand_normal(1, uint64_t(d), uint64_t(rows[r])));
  };
  ef::TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 32;
  for (const char* device : {"cpu", "host-device", "host-device streamed"}) {
    CAPTURE(device);
    const bool streamed = std::string(device) == "host-device streamed";
    opt.max_resident_bytes = streamed ? 0 : -1;
    auto be = ef::make_backend(streamed ? "host-device" : device, spec);
    be->init_params();
    CHECK_THROWS_WITH_AS(ef::train(*be, N, src, opt, nullptr),
                         doctest::Contains("training diverged at epoch 1"), ef::Error);
  }
}

TEST_CASE("device training (host executor): the training rows are released when train returns") {
  ef::TabularSpec spec;
  spec.flow.kind = ef::FlowKind::RealNVP;
  spec.flow.layers = 2;
  spec.flow.hidden = {8};
  spec.parts = {{{}, 2}};
  ef::BatchSource src;
  src.noisy = false;
  src.make = [](const int* rows, int B, uint64_t, ef::Batch& b) {
    b.codes.clear();
    b.u.resize(size_t(B) * 2);
    b.row_logj.assign(size_t(B), 0.0);
    b.logj_sum = 0;
    for (size_t i = 0; i < b.u.size(); ++i)
      b.u[i] = float(ef::math::rand_normal(2, i % 2, uint64_t(rows[i / 2])));
  };
  ef::TrainOptions opt;
  opt.epochs = 2;
  opt.batch_size = 16;
  for (int64_t max_resident : {int64_t(-1), int64_t(0)}) {
    opt.max_resident_bytes = max_resident;
    auto be = ef::make_backend("host-device", spec);
    be->init_params();
    const ef::TrainResult r = ef::train(*be, 100, src, opt, nullptr);
    CHECK(r.schedule == (max_resident ? "device resident" : "device streamed"));
    CHECK_THROWS_AS(be->device_training()->permutation_rows(0, 1), ef::Error);
  }
}
