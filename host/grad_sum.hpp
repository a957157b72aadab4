// Which gradient sum data-parallel training uses (docs/SCALE.md), and making it:
//   host loop   the CPU backend: host/trainer.cpp sums host_grads() between backward and Adam;
//   host step   a device backend whose buffers are host memory (the host executor): the step
//               sums through the host communicator (HostCommGradSum);
//   NCCL step   the CUDA backend: ncclAllReduce on the device gradient buffer inside the step
//               (engine/device_collective.hpp), after rank 0's unique id is broadcast over the
//               host communicator.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "communicator.hpp"
#include "device_collective.hpp"
#include "device_grad_sum.hpp"

namespace ef {

enum class GradSumPath { None, HostLoop, HostStep, NcclStep };
const char* to_string(GradSumPath p);

// What a backend offers (Backend::device_training, DeviceTraining::grads_in_host_memory,
// Backend::host_grads) and whether NCCL is available (nccl_why: why not).
struct GradSumNeeds {
  int ranks = 1;
  bool device_training = false;
  bool grads_in_host_memory = false;
  bool host_grads = false;
  bool nccl = false;
  std::string nccl_why;
  std::string backend;  // its name, for the error
};
// The path for these needs; throws (the same message on every rank) when there is none.
GradSumPath choose_grad_sum_path(const GradSumNeeds& n);

// DeviceGradSum over a host communicator: for buffers in host memory only.
class HostCommGradSum final : public DeviceGradSum {
 public:
  explicit HostCommGradSum(Communicator& comm) : comm_(comm) {}
  void sum(float* data, size_t n, void*) override { comm_.sum(data, n); }
  std::string name() const override { return "host communicator"; }

 private:
  Communicator& comm_;
};

// The NCCL member of every rank: rank 0 calls make_id, comm broadcasts the id, then every rank
// calls join(id, rank, ranks). Both phases are agreed (run_agreed): a failure on any rank ends
// every rank with its message. The functions are parameters so the tests can run the exchange
// without a GPU; training passes nccl_unique_id and make_nccl_grad_sum.
using NcclIdFn = std::function<NcclId()>;
using NcclJoinFn = std::function<std::unique_ptr<DeviceGradSum>(const NcclId&, int rank, int ranks)>;
std::unique_ptr<DeviceGradSum> join_nccl(Communicator& comm, const NcclIdFn& make_id,
                                         const NcclJoinFn& join);

}  // namespace ef
