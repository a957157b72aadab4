#include "progress.hpp"

#include <cmath>
#include <cstdio>

namespace ef {

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) s = 0;
  const long t = long(s + 0.5);
  char b[32];
  std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return b;
}

std::string progress_line(const EpochReport& r) {
  char b[256];
  std::snprintf(b, sizeof b, "epoch %*d/%d  train NLL %9.4f  val NLL %9.4f%s  %10.0f rows/s  ETA %s\n",
                int(std::to_string(r.epochs).size()), r.epoch, r.epochs, r.train_nll, r.val_nll,
                r.improved ? " *" : "  ", r.rows_per_s, hms(r.eta_s).c_str());
  return b;
}

std::string training_summary(const TrainResult& t) {
  char b[256];
  std::snprintf(b, sizeof b,
                "%d epochs in %.1f s%s (limit %d, batch %d, patience %d); best epoch %d (val NLL %.4f)",
                t.epochs_run, t.seconds, t.stopped_early ? " (early stop)" : "", t.epochs, t.batch_size,
                t.patience, t.best_epoch, t.best_val_nll);
  std::string s = b;
  if (t.lr_drops > 0) s += "; learning rate / 10 x" + std::to_string(t.lr_drops);
  if (t.ema > 0) {
    std::snprintf(b, sizeof b, "; parameters averaged over epochs (ema %g)", t.ema);
    s += b;
  }
  if (t.weight_decay > 0) {
    std::snprintf(b, sizeof b, "; weight decay %.3g on %s", t.weight_decay,
                  t.decay_on == "all" ? "all parameters" : t.decay_on == "flow" ? "the flows" : "the categorical model");
    s += b;
  }
  if (!t.choice.empty()) s += "; " + t.choice;
  if (!t.categorical_model.empty()) s += "; categorical model: " + t.categorical_model;
  return s;
}

}  // namespace ef
