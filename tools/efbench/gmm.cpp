#include "gmm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "rng.hpp"

namespace efbench {

namespace {

double sqdist(const double* a, const double* b, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

// log N(x; mean_c, diag var_c) + log w_c for every component into lp (k).
void component_logs(const DiagGmm& g, const double* x, double* lp) {
  for (int c = 0; c < g.k; ++c) {
    double s = std::log(g.weight[c]);
    for (int j = 0; j < g.d; ++j) {
      const double v = g.var[size_t(c) * g.d + j], z = x[j] - g.mean[size_t(c) * g.d + j];
      s -= 0.5 * (std::log(2 * M_PI * v) + z * z / v);
    }
    lp[c] = s;
  }
}

double logsumexp(const double* a, int k) {
  double m = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < k; ++c) m = std::max(m, a[c]);
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (int c = 0; c < k; ++c) s += std::exp(a[c] - m);
  return m + std::log(s);
}

}  // namespace

DiagGmm DiagGmm::fit(const std::vector<double>& x, int d, int k, uint64_t seed, int max_iter, double tol,
                     double reg_covar) {
  const size_t n = x.size() / size_t(d);
  if (n < size_t(k) || k < 1) throw std::runtime_error("GMM: fewer rows than components");
  Rng rng(seed);
  // k-means++ seeding.
  std::vector<double> centers(size_t(k) * d), dist(n, std::numeric_limits<double>::infinity());
  size_t first = rng.below(n);
  std::copy(&x[first * d], &x[first * d] + d, centers.begin());
  for (int c = 1; c <= k; ++c) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      dist[i] = std::min(dist[i], sqdist(&x[i * d], &centers[size_t(c - 1) * d], d));
      total += dist[i];
    }
    if (c == k) break;
    double u = rng.uniform() * total, cum = 0;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
      cum += dist[i];
      if (cum > u) { pick = i; break; }
    }
    std::copy(&x[pick * d], &x[pick * d] + d, centers.begin() + size_t(c) * d);
  }
  // Lloyd iterations.
  std::vector<int> label(n, 0);
  for (int it = 0; it < 100; ++it) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      int best = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        const double s = sqdist(&x[i * d], &centers[size_t(c) * d], d);
        if (s < bd) { bd = s; best = c; }
      }
      changed |= best != label[i] || it == 0;
      label[i] = best;
    }
    if (!changed) break;
    std::vector<double> sum(size_t(k) * d, 0.0), cnt(k, 0.0);
    for (size_t i = 0; i < n; ++i) {
      cnt[label[i]] += 1;
      for (int j = 0; j < d; ++j) sum[size_t(label[i]) * d + j] += x[i * d + j];
    }
    for (int c = 0; c < k; ++c)
      if (cnt[c] > 0)
        for (int j = 0; j < d; ++j) centers[size_t(c) * d + j] = sum[size_t(c) * d + j] / cnt[c];
  }
  // Responsibilities from the k-means labels, then EM.
  std::vector<double> resp(n * size_t(k), 0.0);
  for (size_t i = 0; i < n; ++i) resp[i * k + label[i]] = 1.0;
  DiagGmm g;
  g.k = k;
  g.d = d;
  g.weight.assign(k, 0.0);
  g.mean.assign(size_t(k) * d, 0.0);
  g.var.assign(size_t(k) * d, 0.0);
  auto m_step = [&] {
    const double eps = 10 * std::numeric_limits<double>::epsilon();
    std::vector<double> nk(k, eps);
    std::fill(g.mean.begin(), g.mean.end(), 0.0);
    std::fill(g.var.begin(), g.var.end(), 0.0);
    for (size_t i = 0; i < n; ++i)
      for (int c = 0; c < k; ++c) {
        const double r = resp[i * k + c];
        if (r == 0) continue;
        nk[c] += r;
        for (int j = 0; j < d; ++j) g.mean[size_t(c) * d + j] += r * x[i * d + j];
      }
    for (int c = 0; c < k; ++c)
      for (int j = 0; j < d; ++j) g.mean[size_t(c) * d + j] /= nk[c];
    for (size_t i = 0; i < n; ++i)
      for (int c = 0; c < k; ++c) {
        const double r = resp[i * k + c];
        if (r == 0) continue;
        for (int j = 0; j < d; ++j) {
          const double z = x[i * d + j] - g.mean[size_t(c) * d + j];
          g.var[size_t(c) * d + j] += r * z * z;
        }
      }
    for (int c = 0; c < k; ++c) {
      g.weight[c] = nk[c] / double(n);
      for (int j = 0; j < d; ++j) g.var[size_t(c) * d + j] = g.var[size_t(c) * d + j] / nk[c] + reg_covar;
    }
  };
  m_step();
  double prev = -std::numeric_limits<double>::infinity();
  std::vector<double> lp(k);
  for (int it = 1; it <= max_iter; ++it) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      component_logs(g, &x[i * d], lp.data());
      const double l = logsumexp(lp.data(), k);
      total += l;
      for (int c = 0; c < k; ++c) resp[i * k + c] = std::exp(lp[c] - l);
    }
    m_step();
    g.iterations = it;
    const double cur = total / double(n);
    if (std::fabs(cur - prev) < tol) {
      g.converged = true;
      break;
    }
    prev = cur;
  }
  return g;
}

std::vector<double> DiagGmm::score_rows(const std::vector<double>& x) const {
  const size_t n = x.size() / size_t(d);
  std::vector<double> out(n), lp(k);
  for (size_t i = 0; i < n; ++i) {
    component_logs(*this, &x[i * d], lp.data());
    out[i] = logsumexp(lp.data(), k);
  }
  return out;
}

double DiagGmm::mean_score(const std::vector<double>& x) const {
  const auto s = score_rows(x);
  double t = 0;
  for (double v : s) t += v;
  return s.empty() ? 0 : t / double(s.size());
}

}  // namespace efbench
