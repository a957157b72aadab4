#include <omp.h>

#include <algorithm>

#include "blas.hpp"

extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);
// OpenBLAS (pthread build) joins its worker threads; a later multi-threaded call would start them
// again. Weak: another BLAS without it leaves the pointer null.
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

namespace ef {

namespace {
// OpenBLAS is pinned to one thread before the first GEMM (static init of this file runs no
// CUDA and no BLAS work, only settings): the engine parallelizes around BLAS with OpenMP. The
// pthread OpenBLAS starts one worker per core when it loads, and each spins (sched_yield) for
// about 0.1 s before sleeping: in a short run (--help, a one-row sample) that spinning competes
// with the main thread for the cores. Single-threaded BLAS never uses them, so they are joined.
struct BlasSingleThread {
  BlasSingleThread() {
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
  }
} blas_single_thread;
}  // namespace

void set_num_threads(int n) {
  openblas_set_num_threads(1);
  if (n > 0) omp_set_num_threads(n);
}

template <class T>
void gemm_par(bool ta, bool tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
              int ldb, T beta, T* c, int ldc) {
  // OpenBLAS's result for a row depends on the M of the call and on the row's place in it (its
  // kernels treat a call's last rows differently), so rows are cut into tiles whose bounds
  // depend only on m, never on the thread count: every row gets the same bits whether one
  // thread runs all tiles or many share them. Batch rows (ta false) take 256-row tiles; the
  // weight rows of a gradient (ta true, m = a layer's width) take 64 so that they still split.
  const int tile = ta ? kGemmTileRowsT : kGemmTileRows;
  const int tiles = (m + tile - 1) / tile;
  auto run = [&](int t) {
    const int i0 = t * tile, i1 = std::min(m, i0 + tile);
    // Rows i0..i1 of op(A): A's rows when not transposed, A's columns when transposed.
    const T* ai = ta ? a + i0 : a + size_t(i0) * lda;
    gemm(ta, tb, i1 - i0, n, k, alpha, ai, lda, b, ldb, beta, c + size_t(i0) * ldc, ldc);
  };
  const int threads = omp_in_parallel() ? 1 : std::min(tiles, omp_get_max_threads());
  if (threads <= 1 || 2.0 * m * n * k < 4e6) {
    for (int t = 0; t < tiles; ++t) run(t);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < tiles; ++t) run(t);
}

template void gemm_par<float>(bool, bool, int, int, int, float, const float*, int, const float*,
                              int, float, float*, int);
template void gemm_par<double>(bool, bool, int, int, int, double, const double*, int,
                               const double*, int, double, double*, int);
int get_num_threads() { return omp_get_max_threads(); }
int free_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

}  // namespace ef
