// When OpenMP is worth it: a parallel region costs microseconds (more when the cores are
// shared), so loops over few rows or elements run serially. Rows carry O(D) work each.
#pragma once
#include <cstddef>

namespace ef {
constexpr int kOmpMinRows = 1024;
constexpr size_t kOmpMinElems = 65536;
// Elementwise loops with an exp or tanh per element (tens of cycles each): split across threads
// from this many elements on, whatever the row count. At D = 64 and batch 512 such a loop is
// hundreds of microseconds that a row threshold kept on one thread while the others waited.
constexpr size_t kOmpMinMath = 8192;
}  // namespace ef
