// Diagonal-covariance Gaussian mixture fitted by EM, the model SDGym's L_test uses
// (sklearn GaussianMixture(n, covariance_type='diag')): k-means++ seeding, Lloyd iterations
// (sklearn initializes from a k-means fit), then EM with reg_covar 1e-6, tol 1e-3 on the mean
// log-likelihood, at most 100 iterations. Deterministic for a given seed.
#pragma once
#include <cstdint>
#include <vector>

namespace efbench {

struct DiagGmm {
  int k = 0, d = 0;
  std::vector<double> weight, mean, var;  // (k), (k, d), (k, d)
  int iterations = 0;
  bool converged = false;

  // x: n rows of d values, row-major.
  static DiagGmm fit(const std::vector<double>& x, int d, int k, uint64_t seed, int max_iter = 100,
                     double tol = 1e-3, double reg_covar = 1e-6);
  std::vector<double> score_rows(const std::vector<double>& x) const;  // log p per row
  double mean_score(const std::vector<double>& x) const;
};

}  // namespace efbench
