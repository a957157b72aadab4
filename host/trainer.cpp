#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "device_trainer.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "resident_schedule.hpp"

namespace ef {

void validation_split(int N, const TrainOptions& opt, std::vector<int>& train_idx,
                      std::vector<int>& val_idx) {
  EF_CHECK(opt.validation_fraction >= 0 && opt.validation_fraction < 1,
           "validation_fraction must be in [0, 1) (got ", opt.validation_fraction, ")");
  std::vector<int> order(N);
  std::iota(order.begin(), order.end(), 0);
  for (int i = N - 1; i > 0; --i)
    std::swap(order[i], order[math::rand_u64(opt.seed, 11, i) % uint64_t(i + 1)]);
  int n_val = int(std::floor(opt.validation_fraction * N));
  if (opt.validation_fraction > 0 && n_val == 0 && N >= 2) n_val = 1;
  const int n_train = N - n_val;
  EF_CHECK(n_train >= 1, "no training rows left after the validation split (", N, " rows)");
  train_idx.assign(order.begin(), order.begin() + n_train);
  val_idx.assign(order.begin() + n_train, order.end());
}

TrainResult train(Backend& be, int N, const BatchSource& source, const TrainOptions& opt,
                  const std::function<void(const EpochReport&)>& on_epoch) {
  const BatchFn& make_batch = source.make;
  EF_CHECK(opt.epochs >= 1, "epochs must be positive (got ", opt.epochs, ")");
  EF_CHECK(opt.batch_size >= 1, "batch_size must be positive (got ", opt.batch_size, ")");
  EF_CHECK(opt.validation_fraction >= 0 && opt.validation_fraction < 1,
           "validation_fraction must be in [0, 1) (got ", opt.validation_fraction, ")");
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();

  std::vector<int> train_idx, val_idx;
  validation_split(N, opt, train_idx, val_idx);
  const int n_train = int(train_idx.size()), n_val = int(val_idx.size());

  // ActNorm layers initialize from (up to 4096) training rows.
  {
    const int n_init = std::min(n_train, 4096);
    Batch b;
    make_batch(train_idx.data(), n_init, 12, b);
    be.init_from_data(b.codes.data(), b.u.data(), n_init);
  }

  const int B = std::min(opt.batch_size, n_train);
  Batch batch;
  auto validate = [&]() {
    if (val_idx.empty()) return std::numeric_limits<double>::quiet_NaN();
    double s = 0;
    std::vector<float> lp;
    for (int i = 0; i < n_val; i += 4096) {
      const int b = std::min(4096, n_val - i);
      // Fixed noise stream, so validation NLLs of different epochs are comparable.
      make_batch(&val_idx[i], b, 13 + uint64_t(i), batch);
      lp.resize(b);
      be.score(batch.codes.data(), batch.u.data(), b, lp.data());
      for (float v : lp) s += v;
      s += batch.logj_sum;
    }
    return -s / n_val;
  };

  TrainResult res;
  res.n_train = n_train;
  res.n_val = n_val;
  double best = std::numeric_limits<double>::infinity();
  std::vector<float> best_params = be.get_params();
  int since_best = 0;
  uint64_t batch_counter = 0;
  // Device backends run the epochs on the device (host/device_trainer.hpp), same batches.
  std::unique_ptr<DeviceEpochs> dev;
  if (DeviceTraining* dt = be.device_training())
    dev = std::make_unique<DeviceEpochs>(*dt, train_idx, source, opt);
  res.schedule = dev ? dev->schedule() : "host batches";
  std::vector<int> order(size_t(n_train), 0);
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    const auto te = clock::now();
    double sum = 0;
    int nb = 0;
    if (dev) {
      const EpochSums es = dev->run(epoch, batch_counter);
      sum = es.sum;
      nb = es.batches;
    }
    // The device's shuffle (a key sort), so every backend sees the same batches.
    if (!dev) {
      const std::vector<int> perm = shuffle_permutation(n_train, opt.seed, uint64_t(epoch));
      for (int i = 0; i < n_train; ++i) order[size_t(i)] = train_idx[size_t(perm[size_t(i)])];
    }
    // Drop the ragged last batch only when a full one exists, so tiny tables still train.
    for (int s = 0; !dev && s + B <= n_train; s += B) {
      make_batch(&order[s], B, kTrainNoiseStream + batch_counter++, batch);
      const double mlp = be.forward(batch.codes.data(), batch.u.data(), B);
      EF_CHECK(std::isfinite(mlp), "training diverged at epoch ", epoch,
               " (non-finite loss); lower the learning rate");
      be.backward();
      be.adam_step(opt.adam);
      sum += -mlp - batch.logj_sum / B;
      ++nb;
    }
    EpochReport rep;
    rep.epoch = epoch;
    rep.epochs = opt.epochs;
    rep.train_nll = sum / std::max(nb, 1);
    rep.val_nll = validate();
    const double dt = std::chrono::duration<double>(clock::now() - te).count();
    rep.rows_per_s = dt > 0 ? double(nb) * B / dt : 0;
    const double per_epoch = std::chrono::duration<double>(clock::now() - t0).count() / epoch;
    rep.eta_s = per_epoch * (opt.epochs - epoch);
    const double crit = val_idx.empty() ? rep.train_nll : rep.val_nll;
    if (crit < best) {
      best = crit;
      best_params = be.get_params();
      res.best_epoch = epoch;
      since_best = 0;
      rep.improved = true;
    } else {
      ++since_best;
    }
    res.history.push_back(rep);
    res.epochs_run = epoch;
    res.final_train_nll = rep.train_nll;
    if (on_epoch) on_epoch(rep);
    if (!val_idx.empty() && opt.patience > 0 && since_best >= opt.patience) {
      res.stopped_early = epoch < opt.epochs;
      break;
    }
  }
  be.set_params(best_params);  // early stopping keeps the best validation epoch
  res.best_val_nll = val_idx.empty() ? std::numeric_limits<double>::quiet_NaN() : best;
  res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return res;
}

}  // namespace ef
