// train.lr_drops (host/trainer.cpp): a stall sends training back to its best parameters with a
// tenth of the learning rate instead of stopping. Up to the first stall the run is the plain
// one (same batches, same steps), so its best validation NLL can only be as good or better.
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "flow_math.hpp"
#include "progress.hpp"
#include "test_util.hpp"
#include "trainer.hpp"

namespace {

echoflow::Table drops_table(size_t n) {
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = ef::math::rand_normal(21, 0, i);
    y[i] = x[i] * x[i] + 0.3 * ef::math::rand_normal(21, 1, i);
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("x", std::move(x)));
  t.columns.push_back(echoflow::Column::numeric("y", std::move(y)));
  return t;
}

}  // namespace

TEST_CASE("train.lr_drops: a stall lowers the learning rate and goes on from the best epoch") {
  const echoflow::Table t = drops_table(600);
  echoflow::FitOptions opt;
  opt.threads = 1;
  opt.flow.kind = ef::FlowKind::NSFAR;
  opt.flow.layers = 2;
  opt.flow.hidden = {16, 16};
  opt.train.epochs = 400;
  opt.train.batch_size = 64;
  opt.train.patience = 3;
  opt.train.adam.lr = 1e-2;  // large steps: the plain run stalls early
  opt.train.lr_drops = 0;
  const echoflow::Model plain = echoflow::Model::fit(t, opt);
  REQUIRE(plain.training().stopped_early);
  CHECK(plain.training().lr_drops == 0);
  opt.train.lr_drops = 2;
  const echoflow::Model dropped = echoflow::Model::fit(t, opt);
  const ef::TrainResult& r = dropped.training();
  CHECK(r.lr_drops == 2);
  REQUIRE(r.lr_drop_epochs.size() == 2);
  CHECK(r.lr_drop_epochs[0] == plain.training().epochs_run);  // the plain run's stall
  CHECK(r.epochs_run > r.lr_drop_epochs[1]);
  CHECK(r.best_val_nll < plain.training().best_val_nll);      // the smaller steps found better
  CHECK(ef::training_summary(r).find("learning rate / 10 x2") != std::string::npos);
  const std::string path = std::string("lr_drops_test_") + std::to_string(::getpid()) + ".efm";
  dropped.save(path);
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  CHECK(back.training().lr_drops == 2);
}

// The auto rules of the training length (host/trainer.hpp; README "train.*" rows): 16000 Adam
// steps at least, so the limit stays out of the way of a 10k-row run that is still improving or
// has learning-rate drops left (8000 steps cut random30:1 at 250 epochs, whose uncapped run
// ends at 310), and two learning-rate drops before stopping. Measured on the Bayesian networks
// and gridr (bench/results/QUALITY_DEFAULTS.md); neither shows in the CI-sized quality tests, so
// the rule itself is checked here.
TEST_CASE("auto training options: 16000 steps at least, patience by steps, two learning-rate drops") {
  ef::TrainOptions in;  // every length option on auto
  const ef::TrainOptions bn = ef::resolve_train_options(in, 9000);  // 10k rows, 10% validation
  CHECK(bn.batch_size == 281);
  CHECK(bn.epochs == 500);  // 32 steps an epoch
  CHECK(bn.patience == 32);
  CHECK(bn.lr_drops == 2);
  const ef::TrainOptions adult = ef::resolve_train_options(in, 29305);  // adult: 32,561 rows
  CHECK(adult.batch_size == 512);
  CHECK(adult.epochs == 281);  // 57 steps an epoch (8000 steps: 141)
  CHECK(adult.patience == 18);
  const ef::TrainOptions big = ef::resolve_train_options(in, 270000);  // 300k rows
  CHECK(big.batch_size == 512);
  CHECK(big.epochs == 50);  // the floor: 527 steps an epoch is past 16000 steps in 31 epochs
  const ef::TrainOptions mid = ef::resolve_train_options(in, 180000);  // 200k rows: 351 steps
  CHECK(mid.epochs == 50);
  const ef::TrainOptions small = ef::resolve_train_options(in, 270);  // 300 rows
  CHECK(small.batch_size == 32);
  CHECK(small.epochs == 2000);
  in.lr_drops = 0;
  in.epochs = 7;
  const ef::TrainOptions pinned = ef::resolve_train_options(in, 9000);
  CHECK(pinned.lr_drops == 0);
  CHECK(pinned.epochs == 7);
}
