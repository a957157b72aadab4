// The device backend's gathered conditioning (kernels/ops/ctx_ops.hpp): a categorical column of
// hundreds of labels conditions the flow layers and the categorical MADE through its codes, not
// through a packed (rows x labels) input per layer. Run by the host executor against the CPU
// reference: log p, every gradient and score are checked with the other tables in
// test_device_backend.cpp (all_specs()); here sampling, and the workspace: it may grow
// with the labels times the batch rows only by the few buffers every row's logits need, never
// times the layers.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "backend.hpp"
#include "device_backend.hpp"
#include "device_cases.hpp"
#include "host_exec.hpp"

extern template class ef::DeviceBackend<ef::HostExec>;

using HostDevice = ef::DeviceBackend<ef::HostExec>;
using namespace efd;

TEST_CASE("device backend (host executor), 300-label context: samples match the CPU's draws") {
  for (const Named& n : wide_specs()) {
    CAPTURE(n.name);
    const int N = 300;
    auto cpu = ef::make_cpu_backend(n.spec);
    HostDevice dev(n.spec);
    const Rows rows = random_rows(n.spec, N, 91);
    same_params(*cpu, dev, rows, N, 92);
    const int G = n.spec.groups(), D = n.spec.dims();
    std::vector<int> cc(size_t(N) * G), cd(cc.size(), -7);
    std::vector<float> uc(size_t(N) * D), ud(uc.size(), NAN);
    cpu->sample(N, 78, 500, nullptr, cc.data(), uc.data(), nullptr);
    dev.poison_scratch();
    dev.sample(N, 78, 500, nullptr, cd.data(), ud.data(), nullptr);
    // The gathered sums add in another order than the CPU's GEMM: a uniform within rounding
    // of a category boundary may pick the neighbour, so a row or two may differ.
    same_draws(cd, ud, cc, uc, G, D, 2, 1e-3, 1e-4);
  }
}

namespace {

// Workspace bytes of the device backend after a forward + backward of B rows, for a MAF whose
// 2-dim part is conditioned on one categorical column of `labels` labels, and a second part
// conditioned on both.
size_t workspace(int labels, int layers, int B) {
  ef::TabularSpec s = make_spec(ef::FlowKind::MAF, {{{labels}, 2}, {{}, 2}}, 0, true,
                                ef::Activation::ReLU, 5);
  s.flow.layers = layers;
  s.flow.hidden = {32, 32};
  HostDevice dev(s);
  dev.init_params();
  const Rows rows = random_rows(s, B, 6);
  dev.forward(rows.codes.data(), rows.u.data(), B);
  dev.backward();
  return dev.workspace_bytes();
}

}  // namespace

TEST_CASE("device backend: workspace grows with labels x rows only by the logits, not x layers") {
  const int B = 512;
  for (int layers : {2, 8}) {
    CAPTURE(layers);
    const size_t small = workspace(300, layers, B), big = workspace(3000, layers, B);
    REQUIRE(big > small);
    const double per_label_row = double(big - small) / 2700.0 / B;
    INFO("workspace 300 labels: ", small, " B, 3000 labels: ", big, " B, growth ",
         per_label_row, " B per label per row");
    // What each row needs per label: the categorical MADE's logits and their gradient, and
    // the feature row (F_): 3 floats. A packed one-hot input per flow layer (the old layout)
    // adds 4 bytes per label per row per layer and fails this.
    CHECK(per_label_row <= 3 * sizeof(float) + 0.5);
  }
}
