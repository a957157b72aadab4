#include "synth.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "rng.hpp"

namespace efbench {

namespace {

std::vector<double> mixture_logpdf(const Dataset2D& ds, const std::vector<double>& x) {
  const size_t n = x.size() / 2, K = ds.means.size() / 2;
  const double v = ds.variance, lognorm = -std::log(2 * M_PI * v) - std::log(double(K));
  std::vector<double> out(n), a(K);
  for (size_t i = 0; i < n; ++i) {
    double m = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < K; ++c) {
      const double dx = x[2 * i] - ds.means[2 * c], dy = x[2 * i + 1] - ds.means[2 * c + 1];
      a[c] = -(dx * dx + dy * dy) / (2 * v);
      m = std::max(m, a[c]);
    }
    double s = 0;
    for (size_t c = 0; c < K; ++c) s += std::exp(a[c] - m);
    out[i] = m + std::log(s) + lognorm;
  }
  return out;
}

constexpr double kSpiralNoise = 0.25;
constexpr int kSpiralIntervals = 16384;  // even (Simpson)

std::vector<double> spiral_logpdf(const Dataset2D&, const std::vector<double>& x) {
  const size_t n = x.size() / 2;
  const double T = 4 * M_PI, h = T / kSpiralIntervals, s2 = kSpiralNoise * kSpiralNoise;
  // Nodes: curve points and Simpson weights times the density of t, t / (8 pi^2).
  std::vector<double> cx(kSpiralIntervals + 1), cy(kSpiralIntervals + 1), w(kSpiralIntervals + 1);
  for (int j = 0; j <= kSpiralIntervals; ++j) {
    const double t = j * h, r = t / T * 10.0;
    cx[j] = r * std::cos(t);
    cy[j] = r * std::sin(t);
    const double simpson = (j == 0 || j == kSpiralIntervals) ? 1.0 : (j % 2 ? 4.0 : 2.0);
    w[j] = simpson * h / 3.0 * t / (8 * M_PI * M_PI);
  }
  const double lognorm = -std::log(2 * M_PI * s2);
  const double cut = 60.0;  // exp(-60) relative to the peak: negligible
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double px = x[2 * i], py = x[2 * i + 1];
    double best = std::numeric_limits<double>::infinity();
    for (int j = 0; j <= kSpiralIntervals; ++j) {
      const double dx = px - cx[j], dy = py - cy[j];
      best = std::min(best, (dx * dx + dy * dy) / (2 * s2));
    }
    double s = 0;
    for (int j = 0; j <= kSpiralIntervals; ++j) {
      const double dx = px - cx[j], dy = py - cy[j], e = (dx * dx + dy * dy) / (2 * s2) - best;
      if (e < cut) s += w[j] * std::exp(-e);
    }
    out[i] = s > 0 ? std::log(s) - best + lognorm : -std::numeric_limits<double>::infinity();
  }
  return out;
}

void shuffle_rows(std::vector<double>& x, Rng& rng) {
  const size_t n = x.size() / 2;
  for (size_t i = n; i > 1; --i) {
    const size_t j = rng.below(i);
    std::swap(x[2 * (i - 1)], x[2 * j]);
    std::swap(x[2 * (i - 1) + 1], x[2 * j + 1]);
  }
}

}  // namespace

Dataset2D make_mixture(const std::string& kind, size_t rows, uint64_t seed) {
  Rng rng(seed);
  Dataset2D ds;
  ds.name = kind;
  ds.variance = 0.05;
  if (kind == "grid" || kind == "gridr") {
    for (int a = -4; a <= 4; a += 2)
      for (int b = -4; b <= 4; b += 2) {
        double ox = 0, oy = 0;
        if (kind == "gridr") {
          ox = rng.uniform() - 0.5;
          oy = rng.uniform() - 0.5;
        }
        ds.means.push_back(a + ox);
        ds.means.push_back(b + oy);
      }
  } else if (kind == "ring") {
    const double r = std::sqrt(0.5);
    ds.means = {-1, 0, 1, 0, 0, -1, 0, 1, -r, -r, r, r, -r, r, r, -r};
  } else {
    throw std::runtime_error("unknown mixture " + kind);
  }
  const size_t K = ds.means.size() / 2, N = 2 * rows;
  const double sd = std::sqrt(ds.variance);
  std::vector<double> all(2 * N);
  for (size_t i = 0; i < N; ++i) {
    const size_t c = std::min(K - 1, i * K / N);  // equal blocks per component
    all[2 * i] = ds.means[2 * c] + sd * rng.normal();
    all[2 * i + 1] = ds.means[2 * c + 1] + sd * rng.normal();
  }
  shuffle_rows(all, rng);
  ds.train.assign(all.begin(), all.begin() + 2 * rows);
  ds.test.assign(all.begin() + 2 * rows, all.end());
  ds.logpdf = mixture_logpdf;
  return ds;
}

Dataset2D make_spiral(size_t rows, uint64_t seed) {
  Rng rng(seed);
  Dataset2D ds;
  ds.name = "spiral";
  std::vector<double> all(4 * rows);
  for (size_t i = 0; i < 2 * rows; ++i) {
    const double t = std::sqrt(rng.uniform()) * 4.0 * M_PI, r = t / (4.0 * M_PI) * 10.0;
    all[2 * i] = r * std::cos(t) + kSpiralNoise * rng.normal();
    all[2 * i + 1] = r * std::sin(t) + kSpiralNoise * rng.normal();
  }
  ds.train.assign(all.begin(), all.begin() + 2 * rows);
  ds.test.assign(all.begin() + 2 * rows, all.end());
  ds.logpdf = spiral_logpdf;
  return ds;
}

}  // namespace efbench
