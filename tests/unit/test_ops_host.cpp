// The op cases of tests/unit/ops_*_cases.hpp on the host executor: every kernels/ops functor
// the device backend runs, against the CPU reference, with the host compiler's build of the
// same bodies the CUDA executor runs in tests/gpu (test_flow_ops.cu, test_mlp_ops.cu,
// test_data_ops.cu, test_cat_ops.cu). Host tolerances: the same math in the same order.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // as in engine/device_backend_host.cpp
#endif
#include "host_exec.hpp"
#include "ops_cat_cases.hpp"
#include "ops_data_cases.hpp"
#include "ops_flow_cases.hpp"
#include "ops_mlp_cases.hpp"

namespace {
const efo::Tol kHost{1};
}

TEST_CASE("ops (host executor): flow layers of every registered kind match the CPU layers") {
  ef::HostExec ex;
  efo::check_flow_kind_ops(ex, kHost);
}

TEST_CASE("ops (host executor): actnorm, permutation and base distribution") {
  ef::HostExec ex;
  efo::check_actnorm_perm_base_ops(ex, kHost);
}

TEST_CASE("ops (host executor): conditioner MLP per layer and fused match MaskedMLP") {
  ef::HostExec ex;
  efo::check_mlp_ops(ex, kHost);
}

TEST_CASE("ops (host executor): column sums and means") {
  ef::HostExec ex;
  efo::check_reductions(ex, kHost);
}

TEST_CASE("ops (host executor): packing, features, draws, shuffles and Adam") {
  ef::HostExec ex;
  efo::check_pack_ops(ex);
  efo::check_feature_ops(ex);
  efo::check_random_and_shuffle_ops(ex, kHost);
  efo::check_adam_ops(ex, kHost);
}

TEST_CASE("ops (host executor): categorical heads match CategoricalMade") {
  ef::HostExec ex;
  efo::check_cat_ops(ex, kHost);
}
