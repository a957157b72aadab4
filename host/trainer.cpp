#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "communicator.hpp"
#include "device_trainer.hpp"
#include "error.hpp"
#include "flow_math.hpp"
#include "grad_sum.hpp"
#include "resident_schedule.hpp"

namespace ef {

namespace {
constexpr int kValidationPassValues = 1 << 19;  // values per row-buffer of a validation pass

// train.epochs auto for `steps` optimizer steps an epoch: length by optimizer steps (a 300-row
// table needs hundreds of epochs to take as many steps as a large table takes in a few), at
// least 50 epochs. kMinSteps is a cap, not a length: runs end when validation stalls after
// their learning-rate drops, and the cap only has to stay out of their way (16000 steps = 500
// epochs at 10k rows, where runs end at 174-310; bench/results/QUALITY_DEFAULTS.md).
int auto_epoch_limit(int steps) { return std::max(50, (kMinSteps + steps - 1) / steps); }
}  // namespace

void validation_split(int N, const TrainOptions& opt, std::vector<int>& train_idx,
                      std::vector<int>& val_idx) {
  const bool auto_val = opt.validation_fraction < 0;
  EF_CHECK(auto_val ? opt.validation_fraction == -1 : opt.validation_fraction < 1,
           "validation_fraction must be in [0, 1), or -1 for auto (got ", opt.validation_fraction, ")");
  std::vector<int> order(N);
  std::iota(order.begin(), order.end(), 0);
  for (int i = N - 1; i > 0; --i)
    std::swap(order[i], order[math::rand_u64(opt.seed, 11, i) % uint64_t(i + 1)]);
  int n_val = auto_val ? std::max(N / 10, std::min(N / 5, kMinValRows))
                       : int(std::floor(opt.validation_fraction * N));
  if ((auto_val || opt.validation_fraction > 0) && n_val == 0 && N >= 2) n_val = 1;
  const int n_train = N - n_val;
  EF_CHECK(n_train >= 1, "no training rows left after the validation split (", N, " rows)");
  train_idx.assign(order.begin(), order.begin() + n_train);
  val_idx.assign(order.begin() + n_train, order.end());
}

TrainOptions resolve_train_options(const TrainOptions& in, int n_train) {
  EF_CHECK(in.epochs >= 0, "epochs must be positive, or 0 for auto (got ", in.epochs, ")");
  EF_CHECK(in.batch_size >= 0, "batch_size must be positive, or 0 for auto (got ", in.batch_size, ")");
  EF_CHECK(in.patience >= -1, "patience must be >= 0, or -1 for auto (got ", in.patience, ")");
  EF_CHECK(in.lr_drops >= -1, "lr_drops must be >= 0, or -1 for auto (got ", in.lr_drops, ")");
  TrainOptions o = in;
  if (o.lr_drops < 0) o.lr_drops = kLrDrops;
  EF_CHECK(in.ema == -1 || (in.ema >= 0 && in.ema < 1), "ema must be in [0, 1), or -1 for auto (got ", in.ema, ")");
  if (o.ema < 0) o.ema = kEma;
  // Small tables get small batches: 32 batches an epoch up to 16k rows, then 512-row batches.
  if (o.batch_size == 0) o.batch_size = std::clamp(n_train / 32, 32, 512);
  const int steps = std::max(1, n_train / std::min(o.batch_size, std::max(n_train, 1)));
  if (o.epochs == 0) o.epochs = auto_epoch_limit(steps);
  if (o.patience < 0) o.patience = std::max(10, (kPatienceSteps + steps - 1) / steps);
  return o;
}

double auto_weight_decay(int n_train) {
  if (n_train <= kWeightDecayFullRows) return kWeightDecayAutoMax;
  if (n_train >= kWeightDecayZeroRows) return 0.0;
  return kWeightDecayAutoMax * double(kWeightDecayZeroRows - n_train) / double(kWeightDecayZeroRows - kWeightDecayFullRows);
}

TrainOptions resolve_weight_decay(const TrainOptions& in, int n_train) {
  const bool auto_wd = in.adam.weight_decay == kWeightDecayAuto;
  EF_CHECK(auto_wd || in.adam.weight_decay >= 0, "weight_decay must be >= 0, or ", kWeightDecayAuto,
           " for auto (got ", in.adam.weight_decay, ")");
  TrainOptions o = in;
  if (auto_wd) o.adam.weight_decay = auto_weight_decay(n_train);
  if (o.decay_on == DecayOn::Auto) o.decay_on = auto_wd ? DecayOn::Categorical : DecayOn::All;
  return o;
}

TrainResult train(Backend& be, int N, const BatchSource& source, const TrainOptions& opt_in,
                  const std::function<void(const EpochReport&)>& on_epoch) {
  const BatchFn& make_batch = source.make;
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();

  std::vector<int> train_idx, val_idx;
  validation_split(N, opt_in, train_idx, val_idx);
  const int n_train = int(train_idx.size()), n_val = int(val_idx.size());
  // Data parallel (docs/SCALE.md): every rank holds the whole table and the same split and
  // shuffle; rank r trains on rows [B r / R, B (r+1) / R) of each global batch of B rows, and
  // one sum of the flat gradient buffer per step makes every rank's Adam step the same.
  Communicator& comm = opt_in.comm ? *opt_in.comm : single_process();
  const int R = comm.size(), rank = comm.rank();
  const bool dp = R > 1;
  // Sharded data: each rank splits and shuffles its own rows; the counts of all ranks set the
  // batch, the epoch length and each rank's share of a batch.
  const bool sharded = dp && opt_in.sharded;
  int64_t g_train = n_train, g_val = n_val, before = 0;  // before: training rows of lower ranks
  std::vector<int64_t> rank_train(size_t(R), n_train);
  if (sharded) {
    const int64_t mine[2] = {n_train, n_val};
    const auto all = comm.allgather(std::string(reinterpret_cast<const char*>(mine), sizeof mine));
    g_train = g_val = 0;
    for (int q = 0; q < R; ++q) {
      int64_t c[2];
      std::memcpy(c, all[size_t(q)].data(), sizeof c);
      rank_train[size_t(q)] = c[0];
      if (q < rank) before += c[0];
      g_train += c[0];
      g_val += c[1];
    }
    EF_CHECK(g_train < (int64_t(1) << 31), "too many training rows over all ranks");
  }
  TrainOptions opt = resolve_train_options(opt_in, int(g_train));  // opt.adam.lr drops on stalls
  opt = resolve_weight_decay(opt, int(g_train));
  const bool has_val = g_val > 0;
  // The gradient sum's path (host/grad_sum.hpp): the CPU loop below, or inside a device step.
  GradSumNeeds needs;
  needs.ranks = R;
  needs.device_training = be.device_training() != nullptr;
  needs.grads_in_host_memory = needs.device_training && be.device_training()->grads_in_host_memory();
  needs.host_grads = be.host_grads() != nullptr;
  needs.backend = be.name();
  if (dp && needs.device_training && !needs.grads_in_host_memory) needs.nccl = nccl_available(&needs.nccl_why);
  const GradSumPath path = choose_grad_sum_path(needs);
  // The device step slices the one shared table by rank (engine/batch_plan.hpp); a step over
  // each rank's own shard rows is not built for device backends yet.
  EF_CHECK(!(sharded && (path == GradSumPath::HostStep || path == GradSumPath::NcclStep)),
           "sharded data (data.path a list or glob) over ", R, " ranks needs device \"cpu\"; the ", be.name(),
           " backend trains over several ranks on replicated data (one data.path) only");
  if (dp) {
    EF_CHECK(bool(source.slice), "training over ", R, " ranks needs a batch source that encodes slices");
    // Every collective below assumes the same rows and parameter layout on every rank.
    const int64_t np = int64_t(be.num_params());
    const int64_t lo_n = comm.min(N), hi_n = -comm.min(-int64_t(N));
    const int64_t lo_p = comm.min(np), hi_p = -comm.min(-np);
    if ((!sharded && lo_n != hi_n) || lo_p != hi_p)
      throw AgreedError("the ranks disagree on the table (" + std::to_string(lo_n) + " to " + std::to_string(hi_n) +
                            " rows, " + std::to_string(lo_p) + " to " + std::to_string(hi_p) +
                            " parameters): with one data.path every rank must read the same file",
                        __FILE__, __LINE__);
  }

  // ActNorm layers initialize from (up to 4096) training rows. Sharded: each rank encodes its
  // share of them (in proportion to its training rows) and every rank initializes from all of
  // them, in rank order.
  {
    int n_init = std::min(n_train, 4096);
    if (sharded) {
      const double S = double(std::min<int64_t>(g_train, 4096));
      n_init = int(std::floor(S * double(before + n_train) / double(g_train)) - std::floor(S * double(before) / double(g_train)));
    }
    Batch b;
    make_batch(train_idx.data(), n_init, 12, b);
    if (sharded) {
      const size_t G = size_t(be.spec().groups()), D = size_t(be.spec().dims());
      b.codes.resize(size_t(n_init) * G);
      b.u.resize(size_t(n_init) * D);
      const auto codes = comm.allgather(std::string(reinterpret_cast<const char*>(b.codes.data()), b.codes.size() * sizeof(int)));
      const auto us = comm.allgather(std::string(reinterpret_cast<const char*>(b.u.data()), b.u.size() * sizeof(float)));
      b.codes.clear();
      b.u.clear();
      for (int q = 0; q < R; ++q) {
        const size_t nc = codes[size_t(q)].size() / sizeof(int), nu = us[size_t(q)].size() / sizeof(float);
        b.codes.resize(b.codes.size() + nc);
        std::memcpy(b.codes.data() + b.codes.size() - nc, codes[size_t(q)].data(), nc * sizeof(int));
        b.u.resize(b.u.size() + nu);
        std::memcpy(b.u.data() + b.u.size() - nu, us[size_t(q)].data(), nu * sizeof(float));
      }
      n_init = int(G ? b.codes.size() / G : b.u.size() / std::max<size_t>(D, 1));
    }
    be.init_from_data(b.codes.data(), b.u.data(), n_init);
    if (sharded) {  // one set of parameters, whatever each rank's thread count did to the sums
      std::vector<float> p = be.get_params();
      comm.broadcast(p.data(), p.size() * sizeof(float), 0);
      be.set_params(p);
    }
  }

  const int B = int(std::min<int64_t>(opt.batch_size, g_train));
  EF_CHECK(!dp || B >= R, "train.batch_size ", B, " is smaller than the number of ranks ", R);
  // Replicated: rows [B r / R, B (r+1) / R) of each batch. Sharded: positions
  // [B t_<r / T, B t_<=r / T) of it, drawn from this rank's rows (T training rows in all, t_<r
  // on the ranks before r), so each rank's share follows its rows.
  auto share_lo = [&](int q) {
    if (!sharded) return int(int64_t(B) * q / R);
    int64_t t = 0;
    for (int i = 0; i < q; ++i) t += rank_train[size_t(i)];
    return int(int64_t(B) * t / g_train);
  };
  const int lo = share_lo(rank), Br = share_lo(rank + 1) - lo;
  for (int q = 0; sharded && q < R; ++q)  // the same counts, so the same decision, on every rank
    EF_CHECK(share_lo(q + 1) > share_lo(q), "rank ", q, "'s shards hold ", rank_train[size_t(q)], " of ", g_train,
             " training rows: too few for a share of train.batch_size ", B, "; balance the shards or raise the batch size");
  const int sharded_steps = sharded ? int(g_train / B) : 0;  // an epoch: one pass over all ranks' rows
  std::vector<int> shard_rows(size_t(sharded ? Br : 0));
  const float grad_share = float(double(Br) / double(B));  // local mean gradient -> its share
  Batch batch;
  // The validation NLL split by module (TabularModel::log_prob_terms): per module, minus the
  // mean of its term; the encoders' terms (fixed noise stream) are the same every epoch.
  const TabularModel<float> shape(be.spec());
  const int M = shape.modules();
  // Weight decay on one kind of module only (modules alternate: 2p the categorical model of part
  // p, 2p + 1 its flow); none of that kind in the model: no decay at all.
  if (opt.decay_on != DecayOn::All) {
    opt.adam.decay_only.clear();
    for (int m = (opt.decay_on == DecayOn::Flow ? 1 : 0); m < M; m += 2)
      for (const auto& r : shape.module_params(m))
        if (r.second > 0) opt.adam.decay_only.push_back(r);
    if (opt.adam.decay_only.empty()) opt.adam.weight_decay = 0.0;
  }
  std::vector<float> terms;
  double val_logj = 0;
  // Validation passes of up to 4096 rows, fewer when rows are wide (the one-hot codes of
  // categorical columns with many levels): every buffer of a pass holds rows x feature width
  // values, and a pass must not need more memory than training's batches do.
  const int val_rows = std::min(4096, std::max(B, kValidationPassValues / std::max(1, shape.feature_width())));
  auto validate = [&](std::vector<double>& module_nll) {
    module_nll.assign(size_t(M), 0.0);
    if (!has_val) return std::numeric_limits<double>::quiet_NaN();
    double lj = 0;
    // Over R ranks: chunk k on rank k mod R (same rows, streams and noise as one process), then
    // one sum of the module terms.
    // Sharded: every chunk of this rank's own validation rows.
    for (int i = sharded ? 0 : val_rows * rank; i < n_val; i += sharded ? val_rows : val_rows * R) {
      const int b = std::min(val_rows, n_val - i);
      // Fixed noise stream, so validation NLLs of different epochs are comparable.
      make_batch(&val_idx[i], b, 13 + uint64_t(i), batch);
      terms.resize(size_t(b) * M);
      be.score_terms(batch.codes.data(), batch.u.data(), b, terms.data());
      for (int r = 0; r < b; ++r)
        for (int m = 0; m < M; ++m) module_nll[size_t(m)] -= terms[size_t(r) * M + m];
      lj += batch.logj_sum;
    }
    if (dp) {
      module_nll.push_back(lj);
      comm.sum(module_nll.data(), module_nll.size());
      lj = module_nll.back();
      module_nll.pop_back();
    }
    val_logj = -lj / double(g_val);
    double total = val_logj;
    for (double& v : module_nll) {
      v /= double(g_val);
      total += v;
    }
    return total;
  };

  TrainResult res;
  res.n_train = int(g_train);
  res.n_val = int(g_val);
  res.epochs = opt.epochs;
  res.batch_size = B;
  res.patience = opt.patience;
  res.ema = opt.ema;
  if (opt.adam.weight_decay > 0) {
    res.weight_decay = opt.adam.weight_decay;
    res.decay_on = opt.decay_on == DecayOn::Flow ? "flow" : opt.decay_on == DecayOn::Categorical ? "categorical" : "all";
  }
  // Per module: its parameter ranges, best validation NLL, and epochs since.
  std::vector<std::vector<std::pair<size_t, size_t>>> ranges;
  ranges.resize(size_t(M));
  for (int m = 0; m < M; ++m) ranges[size_t(m)] = shape.module_params(m);
  std::vector<double> best_m(size_t(M), std::numeric_limits<double>::infinity()), module_nll;
  std::vector<int> since_m(size_t(M), 0);
  double best = std::numeric_limits<double>::infinity();
  std::vector<float> best_params = be.get_params();
  int since_best = 0;
  uint64_t batch_counter = 0;
  // Device backends run the epochs on the device (host/device_trainer.hpp), same batches; over
  // R ranks each step sums its gradient inside the step (NCCL on a GPU).
  std::unique_ptr<DeviceGradSum> dev_sum;
  if (path == GradSumPath::HostStep) dev_sum = std::make_unique<HostCommGradSum>(comm);
  if (path == GradSumPath::NcclStep) dev_sum = join_nccl(comm, nccl_unique_id, make_nccl_grad_sum);
  std::unique_ptr<DeviceEpochs> dev;
  if (DeviceTraining* dt = be.device_training()) {
    dt->set_data_parallel(dev_sum.get(), dev_sum ? rank : 0, dev_sum ? R : 1);
    dev = std::make_unique<DeviceEpochs>(*dt, train_idx, source, opt, comm);
  }
  // The sum leaves the backend with training (a captured step that holds it is dropped too).
  struct Detach {
    DeviceTraining* dt;
    ~Detach() {
      try {
        if (dt) dt->set_data_parallel(nullptr, 0, 1);
      } catch (...) {  // a destructor must not throw (it also runs while an error unwinds)
      }
    }
  } detach{dev_sum ? be.device_training() : nullptr};
  res.grad_sum_path = to_string(path);
  res.schedule = dev ? dev->schedule() : "host batches";
  std::vector<int> order(size_t(n_train), 0);
  std::vector<float> avg, raw;  // the running average of the parameters (opt.ema), and the raw ones
  const bool ema_on = opt.ema > 0;
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
      // Sharded: each rank its own shuffle of its own rows.
      const uint64_t seed = sharded ? opt.seed ^ (uint64_t(rank) * 0x9e3779b97f4a7c15ULL) : opt.seed;
      const std::vector<int> perm = shuffle_permutation(n_train, seed, uint64_t(epoch));
      for (int i = 0; i < n_train; ++i) order[size_t(i)] = train_idx[size_t(perm[size_t(i)])];
    }
    // Drop the ragged last batch only when a full one exists, so tiny tables still train.
    for (int s = 0, k = 0; !dev && dp && (sharded ? k < sharded_steps : s + B <= n_train); s += B, ++k) {
      const int* rows = sharded ? shard_rows.data() : &order[size_t(s + lo)];
      // A rank's k-th share, wrapping round its shuffled rows (the shares are rounded, so a
      // rank may need a few rows more than it has in an epoch's last step).
      for (size_t i = 0; i < shard_rows.size(); ++i)
        shard_rows[i] = order[(size_t(k) * shard_rows.size() + i) % size_t(n_train)];
      source.slice(rows, Br, kTrainNoiseStream + batch_counter++, lo, batch);
      const double mlp = be.forward(batch.codes.data(), batch.u.data(), Br);
      be.backward();
      float* g = be.host_grads();
      const size_t np = be.num_params();
      for (size_t i = 0; i < np; ++i) g[i] *= grad_share;
      const auto tc = clock::now();
      comm.sum(g, np);  // the one collective of a step
      res.grad_sum_seconds += std::chrono::duration<double>(clock::now() - tc).count();
      ++res.grad_sums;
      res.grad_sum_bytes = np * sizeof(float);
      be.adam_step(opt.adam);
      sum += -mlp * Br - batch.logj_sum;  // summed over the ranks below
      ++nb;
    }
    if (dp) {
      // Divergence is decided from the global sum, so every rank stops at the same epoch (the
      // device epochs skip their per-step check over several ranks, host/device_trainer.cpp).
      comm.sum(&sum, 1);
      if (!dev) sum /= B;  // the device epochs' sums are already per batch
      if (dev) {
        res.grad_sums += nb;
        res.grad_sum_bytes = be.num_params() * sizeof(float);
      }
      EF_CHECK(std::isfinite(sum), "training diverged at epoch ", epoch,
               " (non-finite loss); lower the learning rate");
      // MPI promises the same sum on every rank only in practice (and bit-equal for R = 2):
      // rank 0's parameters are everyone's each epoch, so the ranks can never drift apart.
      std::vector<float> p = be.get_params();
      comm.broadcast(p.data(), p.size() * sizeof(float), 0);
      be.set_params(p);
    }
    for (int s = 0; !dev && !dp && s + B <= n_train; s += B) {
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
    // The running average (train.ema) is what validation sees and what the best-epoch snapshots
    // keep; the steps go on from the raw parameters, restored below. Host copies only
    // (get_params / set_params), so every backend averages the same way.
    if (ema_on) {
      raw = be.get_params();
      if (avg.empty()) {
        avg = raw;
      } else {
        const float b = float(opt.ema);
        for (size_t i = 0; i < avg.size(); ++i) avg[i] = b * avg[i] + (1 - b) * raw[i];
      }
      be.set_params(avg);
    }
    rep.val_nll = validate(module_nll);
    const double dt = std::chrono::duration<double>(clock::now() - te).count();
    rep.rows_per_s = dt > 0 ? double(nb) * B / dt : 0;
    const double per_epoch = std::chrono::duration<double>(clock::now() - t0).count() / epoch;
    rep.eta_s = per_epoch * (opt.epochs - epoch);
    if (!has_val) {  // no validation rows: the training NLL, whole model
      if (rep.train_nll < best) {
        best = rep.train_nll;
        best_params = be.get_params();
        res.best_epoch = epoch;
        rep.improved = true;
      }
    } else {
      std::vector<float> now;
      bool stalled = true;
      for (int m = 0; m < M; ++m) {
        if (ranges[size_t(m)].empty()) continue;  // a part without this module
        if (module_nll[size_t(m)] < best_m[size_t(m)]) {
          if (now.empty()) now = be.get_params();
          best_m[size_t(m)] = module_nll[size_t(m)];
          for (auto [off, n] : ranges[size_t(m)])
            std::copy(now.begin() + long(off), now.begin() + long(off + n), best_params.begin() + long(off));
          since_m[size_t(m)] = 0;
          rep.improved = true;
          res.best_epoch = epoch;
        } else {
          ++since_m[size_t(m)];
        }
        stalled &= since_m[size_t(m)] >= opt.patience;
      }
      since_best = stalled ? opt.patience : 0;
      best = val_logj;
      for (double v : best_m)
        if (std::isfinite(v)) best += v;
    }
    if (ema_on) be.set_params(raw);
    res.history.push_back(rep);
    res.epochs_run = epoch;
    res.final_train_nll = rep.train_nll;
    if (on_epoch) on_epoch(rep);
    if (has_val && opt.patience > 0 && since_best >= opt.patience && res.lr_drops < opt.lr_drops) {
      // A stall: back to the best parameters, a tenth of the step size, and every module's
      // patience afresh (the device steps read the step size from opt each step).
      be.set_params(best_params);
      if (ema_on) avg = best_params;  // the average restarts where training goes on
      opt.adam.lr *= 0.1;
      ++res.lr_drops;
      res.lr_drop_epochs.push_back(epoch);
      std::fill(since_m.begin(), since_m.end(), 0);
      since_best = 0;
    }
    if (has_val && opt.patience > 0 && since_best >= opt.patience) {
      res.stopped_early = epoch < opt.epochs;
      break;
    }
  }
  be.set_params(best_params);  // early stopping keeps the best validation epoch
  res.best_val_nll = !has_val ? std::numeric_limits<double>::quiet_NaN() : best;
  res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return res;
}

}  // namespace ef
