// Data-parallel training on GPUs with NCCL (docs/SCALE.md): ef_gpu_data_parallel. Run alone it
// checks the NCCL gradient sum inside the device step on one rank; under mpirun with R ranks it
// trains through the public path (Model::fit with the MPI communicator) and compares with the
// 1-process run. Exit 77 ("Skipped" to ctest) without a usable GPU, and under mpirun when NCCL
// refuses several ranks on one GPU (its "duplicate GPU" check), with the reason printed; any
// other failure fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "backend.hpp"
#include "communicator.hpp"
#include "device_collective.hpp"
#include "tests/unit/device_cases.hpp"
#include "tests/unit/training_cases.hpp"

namespace {

constexpr int kSkip = 77;
ef::Communicator* g_comm = nullptr;
std::string g_skip;  // set when NCCL refuses this placement of ranks

// A few resident epochs of spec's model on rows (batch 64, loss ring 4), with the graph
// captured or not; returns every step's loss, then the parameters.
std::vector<float> epochs(ef::Backend& be, const efd::Rows& rows, int N, bool graph,
                          std::vector<double>& losses) {
  ef::DeviceTraining& dt = *be.device_training();
  dt.upload_dataset(rows.codes.data(), rows.u.data(), N);
  dt.set_loss_ring(4);
  ef::AdamConfig cfg;
  cfg.lr = 3e-3;
  for (uint64_t e = 1; e <= 3; ++e) {
    const std::vector<double> l = dt.resident_epoch(7, e, 64, cfg, graph);
    losses.insert(losses.end(), l.begin(), l.end());
  }
  dt.release_data();
  return be.get_params();
}

}  // namespace

// One rank: an NCCL communicator of one member sums nothing, so a step with the allreduce (as a
// node of the captured graph, or eager) must leave exactly the bits of the step without it; and
// the device steps follow the host executor's (the CPU-tested device code) to the GPU tests'
// trajectory tolerance.
TEST_CASE("nccl, 1 rank: the allreduce inside the step, captured and eager") {
  if (g_comm->size() > 1) return;  // the R-rank case below covers it under mpirun
  const efd::Named n = efd::specs()[0];
  const int N = 640;
  const efd::Rows rows = efd::random_rows(n.spec, N, 5);
  const ef::NcclId id = ef::nccl_unique_id();
  const std::unique_ptr<ef::DeviceGradSum> sum = ef::make_nccl_grad_sum(id, 0, 1);
  CHECK(sum->name().rfind("nccl ", 0) == 0);
  auto host = ef::make_backend("host-device", n.spec);
  host->init_params();
  std::vector<double> lh;
  const std::vector<float> ph = epochs(*host, rows, N, false, lh);
  for (bool graph : {true, false}) {
    CAPTURE(graph);
    auto plain = ef::make_backend("cuda", n.spec), with = ef::make_backend("cuda", n.spec);
    plain->init_params();
    with->init_params();
    with->device_training()->set_data_parallel(sum.get(), 0, 1);
    std::vector<double> lp, lw;
    const std::vector<float> pp = epochs(*plain, rows, N, graph, lp);
    const std::vector<float> pw = epochs(*with, rows, N, graph, lw);
    with->device_training()->set_data_parallel(nullptr, 0, 1);
    CHECK(lw == lp);
    CHECK(pw == pp);
    REQUIRE(lw.size() == lh.size());
    for (size_t s = 0; s < lh.size(); ++s) CHECK(lw[s] == doctest::Approx(lh[s]).epsilon(1e-3));
  }
}

// R ranks (mpirun): replicated training through Model::fit with NCCL equals this rank's own
// 1-process GPU run and the CPU trainer, to the GPU tests' 1e-3 trajectory tolerance (cuBLAS and
// the device's math round differently from the CPU; the R-slice sum reassociates the batch
// mean: within 1e-6 on the host executor, tests/unit/test_device_data_parallel.cpp).
TEST_CASE("nccl, R ranks: Model::fit on cuda follows the 1-process run") {
  if (g_comm->size() == 1) return;
  for (bool noisy : {false, true}) {
    CAPTURE(noisy);
    const echoflow::Table t = eft_train::table(600, noisy);
    echoflow::FitOptions opt = eft_train::options(ef::FlowKind::MAF, "cuda");
    const echoflow::Model one = echoflow::Model::fit(t, opt);
    const echoflow::Model cpu = echoflow::Model::fit(t, eft_train::options(ef::FlowKind::MAF, "cpu"));
    opt.train.comm = g_comm;
    std::unique_ptr<echoflow::Model> dp;
    try {
      dp = std::make_unique<echoflow::Model>(echoflow::Model::fit(t, opt));
    } catch (const ef::AgreedError& e) {
      const std::string m = e.what();
      if (m.find("uplicate GPU") != std::string::npos || m.find("ncclInvalidUsage") != std::string::npos) {
        g_skip = m;
        return;
      }
      throw;
    }
    CHECK(dp->training().grad_sum_path == "NCCL in the device step");
    CHECK(dp->training().schedule == (noisy ? "device streamed" : "device resident"));
    eft_train::same_trajectory(dp->training(), one.training(), 1e-3);
    eft_train::same_trajectory(dp->training(), cpu.training(), 1e-3);
  }
}

int main(int argc, char** argv) {
  ef::Communicator& comm = ef::world(&argc, &argv);
  g_comm = &comm;
  const ef::CudaInfo& ci = ef::cuda_info();
  if (ci.devices <= 0) {
    if (comm.rank() == 0) std::printf("SKIPPED: no usable CUDA device (%s)\n", ci.reason.c_str());
    return kSkip;
  }
  std::string why;
  if (!ef::nccl_available(&why)) {  // a build with this test has NCCL: a failure, not a skip
    std::printf("FAILED: NCCL is not available: %s\n", why.c_str());
    return 1;
  }
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  if (rc == 0 && !g_skip.empty()) {
    if (comm.rank() == 0)
      std::printf("SKIPPED: %d ranks on %d device(s): NCCL refuses this placement (%s)\n", comm.size(),
                  ci.devices, g_skip.c_str());
    return kSkip;
  }
  return rc;
}
