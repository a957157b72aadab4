// When OpenMP is worth it: a parallel region costs microseconds (more when the cores are
// shared), so loops over few rows or elements run serially. Rows carry O(D) work each.
#pragma once
#include <cstddef>

namespace ef {
constexpr int kOmpMinRows = 1024;
constexpr size_t kOmpMinElems = 65536;
}  // namespace ef
