#include <omp.h>

#include "blas.hpp"

extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);

namespace ef {

void set_num_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}
int get_num_threads() { return omp_get_max_threads(); }

}  // namespace ef
