// Helpers shared by the GPU benchmarks (bench/gpu/*): comma-separated integer lists from the
// command line. Host-only, so bench_training.cpp (compiled by the host compiler) can use it.
#pragma once
#include <cstdlib>
#include <cstring>
#include <vector>

namespace efbench {

// "512,4096" -> {512, 4096}
inline std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    p = std::strchr(p, ',');
    if (!p) break;
    ++p;
  }
  return v;
}

}  // namespace efbench
