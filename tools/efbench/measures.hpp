// The small measures efbench and the bench programs (bench/bench_bn.cpp, bench/bench_mix.cpp)
// share: the mean of a vector and the process's CPU seconds.
#pragma once
#include <cmath>
#include <sys/resource.h>
#include <vector>

namespace efbench {

// NaN for an empty vector (a figure that was not measured, not 0).
inline double mean(const std::vector<double>& v) {
  double t = 0;
  for (double x : v) t += x;
  return v.empty() ? std::nan("") : t / double(v.size());
}

// User + system CPU seconds of this process so far (all threads): on shared cores a fit's CPU
// time moves far less with the load than its wall time.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace efbench
