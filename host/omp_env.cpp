#include "omp_env.hpp"

#include <cstdlib>
#include <unistd.h>

namespace ef {

void ensure_bounded_omp_wait(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", kGompSpinCount, 1) != 0) return;
  execv("/proc/self/exe", argv);  // only returns on failure: carry on with the default policy
}

}  // namespace ef
