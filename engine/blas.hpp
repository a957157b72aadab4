// Row-major GEMM on the CPU through OpenBLAS, overloaded for float and double (double is used by
// the finite-difference tests). C = alpha * op(A) op(B) + beta * C.
#pragma once
#include <cblas.h>

namespace ef {

inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Threads used by OpenMP (0 = library default). OpenBLAS itself always runs on one thread:
// gemm_par splits a product across OpenMP threads by rows of op(A), so there is one thread pool
// and no BLAS-internal spinning (which collapses on shared, oversubscribed machines).
void set_num_threads(int n);
int get_num_threads();
// Threads a parallel region started here would get: 1 inside another parallel region.
int free_threads();

// C = alpha op(A) op(B) + beta C, the m rows of op(A) (and of C) cut into fixed tiles
// (kGemmTileRows, or kGemmTileRowsT when ta) that OpenMP threads share when the product is big
// enough to pay for it. The tiles do not depend on the thread count, so neither do the results:
// a row's bits depend only on m and its place. Same arguments as gemm.
constexpr int kGemmTileRows = 256;
constexpr int kGemmTileRowsT = 64;
template <class T>
void gemm_par(bool ta, bool tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
              int ldb, T beta, T* c, int ldc);

}  // namespace ef
