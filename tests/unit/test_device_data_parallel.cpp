// Data-parallel training on a device backend (docs/SCALE.md) without a GPU: the pieces of the
// NCCL path that run on the host (which gradient sum a run uses, the unique id's exchange,
// the device of a local rank) and the device step's own data-parallel code (slices of the
// global batch, the gradient share, the sum between backward and Adam, the agreed schedule)
// on the host executor, whose gradient sum goes through a host communicator instead of NCCL.
// Ranks are threads (tests/unit/thread_comm.hpp). tests/gpu/test_cuda_data_parallel.cpp runs
// the same training on a GPU with NCCL.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "cuda_module.hpp"
#include "grad_sum.hpp"
#include "thread_comm.hpp"
#include "training_cases.hpp"

using eft_comm::on_ranks;

namespace {

ef::GradSumNeeds needs(int ranks, bool device, bool host_memory, bool host_grads, bool nccl) {
  ef::GradSumNeeds n;
  n.ranks = ranks;
  n.device_training = device;
  n.grads_in_host_memory = host_memory;
  n.host_grads = host_grads;
  n.nccl = nccl;
  n.nccl_why = "the CUDA module was built without NCCL";
  n.backend = "cuda";
  return n;
}

}  // namespace

TEST_CASE("gradient sum path: one process none, CPU the host loop, device steps NCCL or host") {
  using P = ef::GradSumPath;
  CHECK(ef::choose_grad_sum_path(needs(1, true, false, false, false)) == P::None);
  CHECK(ef::choose_grad_sum_path(needs(2, false, false, true, false)) == P::HostLoop);
  CHECK(ef::choose_grad_sum_path(needs(2, true, true, false, false)) == P::HostStep);
  CHECK(ef::choose_grad_sum_path(needs(4, true, false, false, true)) == P::NcclStep);
  // A GPU backend without NCCL, and a backend with neither kind of buffer: an agreed error.
  try {
    ef::choose_grad_sum_path(needs(2, true, false, false, false));
    FAIL("no error");
  } catch (const ef::AgreedError& e) {
    CHECK(std::string(e.what()).find("training over 2 ranks on the cuda backend needs NCCL: the CUDA "
                                     "module was built without NCCL") != std::string::npos);
  }
  CHECK_THROWS_AS(ef::choose_grad_sum_path(needs(2, false, false, false, true)), ef::AgreedError);
}

TEST_CASE("one GPU per rank: local rank mod the devices the process sees") {
  CHECK(ef::device_for_local_rank(0, 8) == 0);
  CHECK(ef::device_for_local_rank(3, 8) == 3);
  CHECK(ef::device_for_local_rank(9, 8) == 1);  // more ranks than GPUs: shared round-robin
  CHECK(ef::device_for_local_rank(2, 1) == 0);  // CUDA_VISIBLE_DEVICES of one GPU per rank
  CHECK(ef::device_for_local_rank(5, 0) == 0);
}

// The local rank make_backend gets (host/communicator.hpp): fit, and Model::load(path, ranks) for
// sample and score over ranks, so every rank of a node runs on a GPU of its own.
TEST_CASE("one GPU per rank: training, sampling and scoring choose it from the local rank") {
  struct Placed final : ef::Communicator {  // rank `r` of `n`, `local` on its node
    int r, n, local;
    Placed(int r_, int n_, int local_) : r(r_), n(n_), local(local_) {}
    int rank() const override { return r; }
    int size() const override { return n; }
    int local_rank() const override { return local; }
    void sum(float*, size_t) override {}
    void sum(double*, size_t) override {}
    int64_t min(int64_t v) override { return v; }
    void broadcast(void*, size_t, int) override {}
    void send(const std::string&, int) override {}
    std::string recv(int) override { return {}; }
    [[noreturn]] void abort(int) override { std::abort(); }
  };
  CHECK(ef::backend_local_rank(nullptr) == -1);  // no launcher: the current device
  CHECK(ef::backend_local_rank(&ef::single_process()) == -1);
  const Placed alone(0, 1, 0), node1_rank1(3, 4, 1), node1_rank0(2, 4, 0);
  CHECK(ef::backend_local_rank(&alone) == -1);
  // Two nodes of two ranks: global ranks 2 and 3 are local ranks 0 and 1 on the second node.
  CHECK(ef::backend_local_rank(&node1_rank0) == 0);
  CHECK(ef::backend_local_rank(&node1_rank1) == 1);
  CHECK(ef::device_for_local_rank(ef::backend_local_rank(&node1_rank1), 2) == 1);
  std::vector<int> got(3, -2);
  on_ranks(3, [&](ef::Communicator& comm) { got[size_t(comm.rank())] = ef::backend_local_rank(&comm); });
  CHECK(got == std::vector<int>{0, 1, 2});  // ranks of one process share its node
}

TEST_CASE("NCCL unique id: made on rank 0 only, the same bytes on every rank") {
  const int R = 3;
  std::vector<int> made(R, 0);
  std::vector<ef::NcclId> seen(R);
  std::vector<std::string> names(R);
  on_ranks(R, [&](ef::Communicator& comm) {
    struct Fake final : ef::DeviceGradSum {
      std::string who;
      void sum(float*, size_t, void*) override {}
      std::string name() const override { return who; }
    };
    auto g = ef::join_nccl(
        comm,
        [&] {
          ++made[size_t(comm.rank())];
          ef::NcclId id;
          for (size_t i = 0; i < ef::kNcclIdBytes; ++i) id.bytes[i] = static_cast<unsigned char>(i * 7 + 1);
          return id;
        },
        [&](const ef::NcclId& id, int rank, int ranks) {
          seen[size_t(rank)] = id;
          auto f = std::make_unique<Fake>();
          f->who = std::to_string(rank) + "/" + std::to_string(ranks);
          return std::unique_ptr<ef::DeviceGradSum>(std::move(f));
        });
    names[size_t(comm.rank())] = g->name();
  });
  CHECK(made == std::vector<int>{1, 0, 0});
  for (int r = 0; r < R; ++r) {
    CAPTURE(r);
    CHECK(names[size_t(r)] == std::to_string(r) + "/3");
    for (size_t i = 0; i < ef::kNcclIdBytes; ++i)
      CHECK(seen[size_t(r)].bytes[i] == static_cast<unsigned char>(i * 7 + 1));
  }
}

TEST_CASE("NCCL communicator: a failure on one rank ends every rank with its message") {
  for (bool fail_id : {true, false}) {
    CAPTURE(fail_id);
    std::vector<std::string> msg(2);
    on_ranks(2, [&](ef::Communicator& comm) {
      try {
        ef::join_nccl(
            comm,
            [&]() -> ef::NcclId {
              if (fail_id) throw ef::Error("ncclGetUniqueId: no network", "f.cpp", 1);
              return {};
            },
            [&](const ef::NcclId&, int rank, int) -> std::unique_ptr<ef::DeviceGradSum> {
              if (rank == 1) throw ef::Error("ncclCommInitRank failed: duplicate GPU", "f.cpp", 2);
              return std::make_unique<ef::HostCommGradSum>(comm);
            });
        msg[size_t(comm.rank())] = "no error";
      } catch (const ef::AgreedError& e) {
        msg[size_t(comm.rank())] = e.what();
      }
    });
    CHECK(msg[0] == msg[1]);
    CHECK(msg[0].find(fail_id ? "rank 0: " : "rank 1: ") != std::string::npos);
    CHECK(msg[0].find(fail_id ? "no network" : "duplicate GPU") != std::string::npos);
  }
}

// R ranks of host-device training (the device step with its gradient sum) against the 1-process
// run of the same backend and against the CPU trainer. The ranks' per-step sums differ from one
// process's batch mean by float reassociation only (~1e-7 relative a step); measured: the
// per-epoch NLLs of these 8 epochs agree within 1e-6 relative (the test still passes at 1e-6).
// It allows 1e-5 against the 1-process run, and 2e-4 against the CPU trainer (its GEMMs sum in
// another order: test_device_training.cpp's tolerance). A gradient share left out, a wrong slice
// or the 1-process noise for a slice each fail it (mutation-checked: 30+ failed checks each).
// The ranks hold identical parameters (rank 0's are broadcast every epoch).
TEST_CASE("device data parallel (host executor): R ranks follow the 1-process run") {
  struct Case {
    bool noisy;
    int ranks;
    int64_t max_resident;  // -1 default; 0 forces a noise-free table to stream
  };
  for (const Case c : {Case{false, 2, -1}, Case{true, 2, -1}, Case{false, 3, 0}, Case{true, 3, -1}}) {
    CAPTURE(c.noisy);
    CAPTURE(c.ranks);
    CAPTURE(c.max_resident);
    const echoflow::Table t = eft_train::table(600, c.noisy);
    echoflow::FitOptions opt = eft_train::options(ef::FlowKind::MAF, "host-device");
    opt.train.max_resident_bytes = c.max_resident;
    opt.train.stream_chunk_batches = 3;
    const echoflow::Model one = echoflow::Model::fit(t, opt);
    echoflow::FitOptions cpu_opt = opt;
    cpu_opt.device = "cpu";
    const echoflow::Model cpu = echoflow::Model::fit(t, cpu_opt);
    std::vector<std::unique_ptr<echoflow::Model>> ranks(size_t(c.ranks));
    on_ranks(c.ranks, [&](ef::Communicator& comm) {
      echoflow::FitOptions o = opt;
      o.train.comm = &comm;
      ranks[size_t(comm.rank())] = std::make_unique<echoflow::Model>(echoflow::Model::fit(t, o));
    });
    const ef::TrainResult& got = ranks[0]->training();
    CHECK(got.schedule == one.training().schedule);
    CHECK(got.schedule == (c.noisy || c.max_resident == 0 ? "device streamed" : "device resident"));
    CHECK(got.grad_sum_path == "host communicator in the device step");
    CHECK(got.grad_sums == long(got.epochs_run) * 11);  // 540 rows, batches of 48
    eft_train::same_trajectory(got, one.training(), 1e-5);
    eft_train::same_trajectory(got, cpu.training(), 2e-4);
    const auto s1 = one.score(t), s0 = ranks[0]->score(t);
    double worst = 0;
    for (size_t i = 0; i < s1.size(); ++i) worst = std::fmax(worst, std::fabs(s1[i] - s0[i]));
    CHECK(worst < 1e-2);
    for (int r = 1; r < c.ranks; ++r) CHECK(ranks[size_t(r)]->score(t) == s0);
  }
}

// Sharded data (each rank its own rows) on a device step: the step slices one table that every
// rank holds alike (engine/batch_plan.hpp), so host/trainer.cpp refuses shards there, on every
// rank alike, with a message that names the way out; the same shards train on device "cpu". The
// shards are of equal size: without the refusal both ranks then run the same steps and the test
// fails on the missing message (unequal shards would leave one rank waiting in a sum).
TEST_CASE("device data parallel: sharded data is refused on the device step, trained on the CPU") {
  const echoflow::Table shard[2] = {eft_train::table(330, false), eft_train::table(330, false)};
  echoflow::FitOptions opt = eft_train::options(ef::FlowKind::MAF, "host-device");
  opt.train.sharded = true;
  opt.train.epochs = 2;
  auto of_rank = [&](int r) -> const echoflow::Table& { return shard[r]; };
  std::string msg = "no error";
  try {
    eft_comm::fit_on_ranks(2, opt, of_rank);
  } catch (const ef::Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("sharded data (data.path a list or glob) over 2 ranks needs device \"cpu\"; the "
                 "host-emulated device backend trains over several ranks on replicated data") != std::string::npos);
  opt.device = "cpu";
  const auto cpu = eft_comm::fit_on_ranks(2, opt, of_rank);
  CHECK(cpu[0]->training().grad_sum_path == "host loop");
  CHECK(cpu[0]->training().n_train + cpu[0]->training().n_val == 660);
}
