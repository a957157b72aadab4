// train.ema (host/trainer.cpp): after each epoch's steps the trainer keeps a running average of
// the parameters; validation, the best-epoch snapshots and the final model use the average while
// the steps go on from the raw parameters. Checked against the average computed here from the
// raw parameters of every epoch, on the CPU backend and on the device backend's host executor.
#include <string>
#include <vector>

#include "config.hpp"
#include "flow_math.hpp"
#include "progress.hpp"
#include "test_util.hpp"
#include "trainer.hpp"

namespace {

ef::BatchSource ema_source() {
  ef::BatchSource src;
  src.noisy = false;
  src.make = [](const int* rows, int B, uint64_t, ef::Batch& b) {
    b.codes.clear();
    b.u.resize(size_t(B) * 2);
    b.row_logj.assign(size_t(B), 0.0);
    b.logj_sum = 0;
    for (int r = 0; r < B; ++r) {
      const double x = ef::math::rand_normal(31, 0, uint64_t(rows[r]));
      b.u[size_t(r) * 2] = float(x);
      b.u[size_t(r) * 2 + 1] = float(x * x + 0.3 * ef::math::rand_normal(31, 1, uint64_t(rows[r])));
    }
  };
  return src;
}

struct EmaRun {
  ef::TrainResult res;
  std::vector<std::vector<float>> raw;  // the parameters the steps left after each epoch
  std::vector<float> final_params;
};

EmaRun ema_run(const std::string& device, double ema) {
  ef::TabularSpec spec;
  spec.flow.kind = ef::FlowKind::MAF;
  spec.flow.layers = 2;
  spec.flow.hidden = {8};
  spec.parts = {{{}, 2}};
  ef::TrainOptions opt;
  opt.epochs = 6;
  opt.batch_size = 32;
  opt.patience = 0;  // every epoch runs
  opt.lr_drops = 0;
  opt.adam.lr = 1e-2;
  opt.ema = ema;
  auto be = ef::make_backend(device, spec);
  be->init_params();
  EmaRun run;
  run.res = ef::train(*be, 400, ema_source(), opt,
                      [&](const ef::EpochReport&) { run.raw.push_back(be->get_params()); });
  run.final_params = be->get_params();
  return run;
}

}  // namespace

TEST_CASE("train.ema: the model is the running average of the epochs' parameters") {
  const float beta = 0.75f;
  for (const char* device : {"cpu", "host-device"}) {
    CAPTURE(device);
    const EmaRun plain = ema_run(device, 0);
    const EmaRun avg = ema_run(device, beta);
    REQUIRE(avg.raw.size() == 6);
    // The steps go on from the raw parameters: the same trajectory as without the average.
    for (size_t e = 0; e < avg.raw.size(); ++e) CHECK(avg.raw[e] == plain.raw[e]);
    // The average by hand, epoch by epoch; the model is the one of the best validation epoch.
    std::vector<std::vector<float>> hand(avg.raw.size());
    hand[0] = avg.raw[0];
    for (size_t e = 1; e < avg.raw.size(); ++e) {
      hand[e] = hand[e - 1];
      for (size_t i = 0; i < hand[e].size(); ++i) hand[e][i] = beta * hand[e][i] + (1 - beta) * avg.raw[e][i];
    }
    REQUIRE(avg.res.best_epoch >= 2);  // a best epoch whose average differs from the raw parameters
    CHECK(hand[size_t(avg.res.best_epoch - 1)] != avg.raw[size_t(avg.res.best_epoch - 1)]);
    CHECK(avg.final_params == hand[size_t(avg.res.best_epoch - 1)]);
    // Without the average the model is the raw parameters of its best epoch.
    CHECK(plain.final_params == plain.raw[size_t(plain.res.best_epoch - 1)]);
    CHECK(ef::training_summary(avg.res).find("parameters averaged over epochs (ema 0.75)") != std::string::npos);
    CHECK(ef::training_summary(plain.res).find("averaged") == std::string::npos);
  }
}

TEST_CASE("train.ema: the config key, its auto value and its range") {
  const auto ema_of = [](const std::string& train) {
    return ef::parse_config(R"({"data": {"path": "x.csv"}, "train": )" + train + "}", "t.json", "/base", {}).train.ema;
  };
  CHECK(ema_of("{}") == -1);  // "auto" by default
  CHECK(ema_of(R"({"ema": "auto"})") == -1);
  CHECK(ema_of(R"({"ema": 0.9})") == 0.9);
  CHECK(ema_of(R"({"ema": 0})") == 0);
  CHECK_THROWS_WITH_AS(ema_of(R"({"ema": 1})"), doctest::Contains("train.ema"), ef::Error);
  CHECK_THROWS_WITH_AS(ema_of(R"({"ema": -0.5})"), doctest::Contains("train.ema"), ef::Error);
  ef::TrainOptions in;
  CHECK(ef::resolve_train_options(in, 9000).ema == ef::kEma);
  CHECK(ef::resolve_train_options(in, 270).ema == ef::kEma);
  in.ema = 0.5;
  CHECK(ef::resolve_train_options(in, 9000).ema == 0.5);
  in.ema = 0;
  CHECK(ef::resolve_train_options(in, 9000).ema == 0);
  in.ema = 1;
  CHECK_THROWS_AS(ef::resolve_train_options(in, 9000), ef::Error);
}
