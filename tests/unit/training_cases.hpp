// Tables and options shared by the device-training tests on the host executor
// (tests/unit/test_device_training.cpp) and on the GPU (tests/gpu/test_cuda_training.cpp).
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "flow_math.hpp"

namespace eft_train {

// x, y continuous (y depends on x), c categorical; with `noisy`, an integer column and missing
// values in x (filled cells), so every batch draws noise.
inline echoflow::Table table(int n, bool noisy) {
  std::vector<double> x, y, k;
  std::vector<std::string> c;
  std::vector<uint8_t> miss;
  for (int i = 0; i < n; ++i) {
    const double a = ef::math::rand_normal(3, 0, uint64_t(i));
    x.push_back(2 * a + 1);
    y.push_back(0.5 * a * a + 0.3 * ef::math::rand_normal(3, 1, uint64_t(i)));
    c.push_back(a > 0.4 ? "hi" : (a < -0.4 ? "lo" : "mid"));
    k.push_back(std::floor(3 + 2 * a + ef::math::rand_normal(3, 2, uint64_t(i))));
    miss.push_back(ef::math::rand_uniform(3, 3, uint64_t(i)) < 0.1);
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("x", x));
  t.columns.push_back(echoflow::Column::numeric("y", y));
  t.columns.push_back(echoflow::Column::categorical("c", c));
  if (noisy) {
    t.columns[0].missing = miss;
    t.columns.push_back(echoflow::Column::numeric("k", k, echoflow::ColumnType::Integer));
  }
  return t;
}

inline echoflow::FitOptions options(ef::FlowKind kind, const std::string& device) {
  echoflow::FitOptions o;
  o.flow.kind = kind;
  o.flow.layers = 3;
  o.flow.hidden = {24, 24};
  o.flow.permutation = ef::default_permutation(kind);
  o.train.epochs = 8;
  o.train.batch_size = 48;  // 540 training rows: 11 batches and a dropped ragged tail of 12
  o.train.adam.lr = 3e-3;
  o.train.validation_fraction = 0.1;
  o.train.patience = 3;
  o.train.seed = 5;
  o.train.loss_every = 4;
  o.device = device;
  return o;
}

inline void same_trajectory(const ef::TrainResult& got, const ef::TrainResult& ref, double rtol) {
  CHECK(got.epochs_run == ref.epochs_run);
  CHECK(got.best_epoch == ref.best_epoch);
  CHECK(got.stopped_early == ref.stopped_early);
  REQUIRE(got.history.size() == ref.history.size());
  for (size_t e = 0; e < ref.history.size(); ++e) {
    CAPTURE(e);
    CHECK(got.history[e].train_nll == doctest::Approx(ref.history[e].train_nll).epsilon(rtol));
    CHECK(got.history[e].val_nll == doctest::Approx(ref.history[e].val_nll).epsilon(rtol));
    CHECK(got.history[e].improved == ref.history[e].improved);
  }
}

}  // namespace eft_train
