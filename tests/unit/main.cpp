#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "omp_env.hpp"

int main(int argc, char** argv) {
  ef::ensure_bounded_omp_wait(argc, argv);  // see host/omp_env.hpp
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
