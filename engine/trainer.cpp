#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "error.hpp"
#include "flow_math.hpp"

namespace ef {
namespace {

// Gathers rows idx[0..B) into out, adding dequantization noise U(0,1)*w_j for integer columns.
void gather(const std::vector<float>& data, const std::vector<float>* ext, int D, int E,
            const int* idx, int B, const std::vector<float>& w, uint64_t seed, uint64_t stream,
            std::vector<float>& out, std::vector<float>& out_ext) {
  out.resize(size_t(B) * D);
  out_ext.resize(size_t(B) * E);
  bool any_w = std::any_of(w.begin(), w.end(), [](float x) { return x != 0.f; });
  for (int r = 0; r < B; ++r) {
    const float* src = &data[size_t(idx[r]) * D];
    float* dst = &out[size_t(r) * D];
    for (int j = 0; j < D; ++j) {
      float v = src[j];
      if (any_w && w[j] != 0.f)
        v += w[j] * float(math::rand_uniform(seed, stream, uint64_t(r) * D + j));
      dst[j] = v;
    }
    if (E) std::copy(&(*ext)[size_t(idx[r]) * E], &(*ext)[size_t(idx[r] + 1) * E], &out_ext[size_t(r) * E]);
  }
}

}  // namespace

TrainResult train(Backend& be, const std::vector<float>& data, const std::vector<float>* ext,
                  int N, int D, const std::vector<float>& dequant_width, const TrainOptions& opt,
                  const std::function<void(const EpochReport&)>& on_epoch) {
  EF_CHECK(opt.epochs >= 1, "epochs must be positive (got ", opt.epochs, ")");
  EF_CHECK(opt.batch_size >= 1, "batch_size must be positive (got ", opt.batch_size, ")");
  EF_CHECK(opt.validation_fraction >= 0 && opt.validation_fraction < 1,
           "validation_fraction must be in [0, 1) (got ", opt.validation_fraction, ")");
  EF_CHECK(data.size() == size_t(N) * D, "training data has the wrong size");
  const int E = be.spec().ext_context;
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();

  // Split once, by a seeded shuffle: the validation rows never train.
  std::vector<int> order(N);
  std::iota(order.begin(), order.end(), 0);
  for (int i = N - 1; i > 0; --i)
    std::swap(order[i], order[math::rand_u64(opt.seed, 11, i) % uint64_t(i + 1)]);
  int n_val = int(std::floor(opt.validation_fraction * N));
  if (opt.validation_fraction > 0 && n_val == 0 && N >= 2) n_val = 1;
  const int n_train = N - n_val;
  EF_CHECK(n_train >= 1, "no training rows left after the validation split (", N, " rows)");
  std::vector<int> train_idx(order.begin(), order.begin() + n_train);
  std::vector<int> val_idx(order.begin() + n_train, order.end());

  // ActNorm layers initialize from (up to 4096) training rows.
  {
    const int n_init = std::min(n_train, 4096);
    std::vector<float> u, e;
    gather(data, ext, D, E, train_idx.data(), n_init, dequant_width, opt.seed, 12, u, e);
    be.init_from_data(u.data(), E ? e.data() : nullptr, n_init);
  }

  const int B = std::min(opt.batch_size, n_train);
  std::vector<float> ub, eb;
  auto validate = [&]() {
    if (val_idx.empty()) return std::numeric_limits<double>::quiet_NaN();
    double s = 0;
    std::vector<float> lp;
    for (int i = 0; i < n_val; i += 4096) {
      const int b = std::min(4096, n_val - i);
      // Fixed noise stream, so validation NLLs of different epochs are comparable.
      gather(data, ext, D, E, &val_idx[i], b, dequant_width, opt.seed, 13 + uint64_t(i), ub, eb);
      lp.resize(b);
      be.score(ub.data(), E ? eb.data() : nullptr, b, lp.data());
      for (float v : lp) s += v;
    }
    return -s / n_val + opt.nll_offset;
  };

  TrainResult res;
  res.n_train = n_train;
  res.n_val = n_val;
  double best = std::numeric_limits<double>::infinity();
  std::vector<float> best_params = be.get_params();
  int since_best = 0;
  uint64_t batch_counter = 0;
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    const auto te = clock::now();
    for (int i = n_train - 1; i > 0; --i)
      std::swap(train_idx[i],
                train_idx[math::rand_u64(opt.seed, 1000 + uint64_t(epoch), i) % uint64_t(i + 1)]);
    double sum = 0;
    int nb = 0;
    // Drop the ragged last batch only when a full one exists, so tiny tables still train.
    for (int s = 0; s + B <= n_train; s += B) {
      gather(data, ext, D, E, &train_idx[s], B, dequant_width, opt.seed,
             1000000 + batch_counter++, ub, eb);
      const double mlp = be.forward(ub.data(), E ? eb.data() : nullptr, B);
      EF_CHECK(std::isfinite(mlp), "training diverged at epoch ", epoch,
               " (non-finite loss); lower the learning rate");
      be.backward();
      be.adam_step(opt.adam);
      sum += -mlp;
      ++nb;
    }
    EpochReport rep;
    rep.epoch = epoch;
    rep.epochs = opt.epochs;
    rep.train_nll = sum / std::max(nb, 1) + opt.nll_offset;
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
