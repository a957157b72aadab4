// The CUDA module's loader (engine/cuda_loader.cpp): where it looks, what it refuses, and -- in a
// CUDA build -- that the module built next to the tests loads, matches this build's ABI and
// agrees with the driver about the devices (none here without a GPU, with the reason).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "backend.hpp"
#include "cuda_loader.hpp"

namespace {
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("cuda module loader: candidates, a missing file, a library without the entry") {
  ::setenv("EF_CUDA_MODULE", "/nonexistent/dir/mod.so", 1);
  const auto only = ef::detail::cuda_module_candidates();
  CHECK(ef::detail::find_cuda_module().empty());
  ::unsetenv("EF_CUDA_MODULE");
  REQUIRE(only.size() == 1);
  CHECK(only[0] == "/nonexistent/dir/mod.so");

  // Without the variable: next to this test binary first, then its ../lib.
  const auto c = ef::detail::cuda_module_candidates();
  REQUIRE(c.size() >= 2);
  CHECK(contains(c[0], "/tests/libechoflow_cuda.so"));
  CHECK(contains(c[1], "/tests/../"));

  std::string why;
  CHECK(ef::detail::load_cuda_module("/nonexistent/dir/mod.so", &why) == nullptr);
  CHECK(contains(why, "cannot load /nonexistent/dir/mod.so"));
  why.clear();
  CHECK(ef::detail::load_cuda_module("", &why) == nullptr);
  CHECK(contains(why, "not found"));
  // A real shared library that is not the module.
  why.clear();
  CHECK(ef::detail::load_cuda_module("libz.so.1", &why) == nullptr);
  CHECK(contains(why, "has no entry point ef_cuda_module"));
}

TEST_CASE("cuda driver probe: a count, or none with the reason") {
  std::string why;
  const int n = ef::detail::probe_cuda_driver(&why);
  CHECK(n >= 0);
  if (n == 0) CHECK(!why.empty());
}

#if defined(EF_TEST_CUDA_MODULE)
TEST_CASE("cuda module: the build's module loads and agrees with the driver") {
  std::string why;
  const ef::CudaModuleApi* api = ef::detail::load_cuda_module(EF_TEST_CUDA_MODULE, &why);
  REQUIRE_MESSAGE(api != nullptr, why);
  CHECK(api->abi == ef::kCudaModuleAbi);
  char msg[512] = "";
  const int runtime = api->probe(msg, sizeof(msg));
  std::string driver_why;
  const int driver = ef::detail::probe_cuda_driver(&driver_why);
  CHECK(runtime == driver);
  if (runtime == 0) CHECK(msg[0] != '\0');  // e.g. cudaErrorInsufficientDriver without a GPU

  // Found through EF_CUDA_MODULE.
  ::setenv("EF_CUDA_MODULE", EF_TEST_CUDA_MODULE, 1);
  CHECK(ef::detail::find_cuda_module() == EF_TEST_CUDA_MODULE);
  ::unsetenv("EF_CUDA_MODULE");
}
#endif
