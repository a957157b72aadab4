// Generates the spiral demo table: two continuous columns (x, y) tracing a two-turn spiral with
// Gaussian noise, like the seed library's demo dataset.
//   make_spiral OUT.csv [ROWS=4000] [SEED=0]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_spiral OUT.csv [ROWS=4000] [SEED=0]\n");
    return 2;
  }
  const long rows = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 4000;
  const unsigned seed = argc > 3 ? unsigned(std::strtoul(argv[3], nullptr, 10)) : 0u;
  if (rows <= 0) {
    std::fprintf(stderr, "make_spiral: ROWS must be positive\n");
    return 2;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::normal_distribution<double> N(0.0, 1.0);
  const std::string tmp = std::string(argv[1]) + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "make_spiral: cannot write %s\n", argv[1]);
    return 1;
  }
  std::fprintf(f, "x,y\n");
  for (long i = 0; i < rows; ++i) {
    // Angle uniform in arc length-ish: sqrt spreads points evenly along the arms.
    const double t = std::sqrt(U(rng)) * 4.0 * M_PI;
    const double r = t / (4.0 * M_PI) * 10.0;
    std::fprintf(f, "%.6f,%.6f\n", r * std::cos(t) + 0.25 * N(rng), r * std::sin(t) + 0.25 * N(rng));
  }
  if (std::fclose(f) != 0 || std::rename(tmp.c_str(), argv[1]) != 0) {
    std::fprintf(stderr, "make_spiral: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
