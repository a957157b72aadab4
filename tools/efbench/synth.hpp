// Two-column benchmark data with known densities: SDGym's Gaussian mixtures (grid, gridr, ring;
// bench/quality/sdgym_gmm.py documents SDGym's recipe) and the spiral demo
// (examples/make_spiral.cpp's generator), each with its exact log-density.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace efbench {

struct Dataset2D {
  std::string name;
  std::vector<double> train, test;  // rows of (x, y), row-major
  // Exact log-density of each row (natural log, original units).
  std::vector<double> (*logpdf)(const Dataset2D&, const std::vector<double>&) = nullptr;
  std::vector<double> means;  // mixtures: component means (K x 2)
  double variance = 0;        // mixtures: per-coordinate variance
};

// grid: means {-4,-2,0,2,4}^2; gridr: the same plus one uniform(-0.5, 0.5)^2 offset per centre
// (drawn first from the seeded stream); ring: 8 means on the unit circle. Covariance 0.05 I
// (std sqrt(0.05)), equal weights: 2 x rows rows drawn in equal blocks per component, shuffled,
// first half train, second half test (SDGym's recipe with efbench's own random stream).
Dataset2D make_mixture(const std::string& kind, size_t rows, uint64_t seed);

// Spiral (make_spiral.cpp): t = sqrt(U) 4 pi, r = 10 t / (4 pi), (r cos t, r sin t) + N(0, 0.25^2 I).
// Its density p(x) = int_0^{4 pi} t / (8 pi^2) N(x; c(t), 0.25^2 I) dt is evaluated by quadrature
// (composite Simpson, 16384 intervals: relative error far below 1e-6 nats at this noise level).
Dataset2D make_spiral(size_t rows, uint64_t seed);

}  // namespace efbench
