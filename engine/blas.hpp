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

// Threads used by BLAS and OpenMP together (0 = library default).
void set_num_threads(int n);
int get_num_threads();

}  // namespace ef
