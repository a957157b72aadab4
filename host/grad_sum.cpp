#include "grad_sum.hpp"

#include "error.hpp"

namespace ef {

const char* to_string(GradSumPath p) {
  switch (p) {
    case GradSumPath::None: return "none";
    case GradSumPath::HostLoop: return "host loop";
    case GradSumPath::HostStep: return "host communicator in the device step";
    case GradSumPath::NcclStep: return "NCCL in the device step";
  }
  return "?";
}

GradSumPath choose_grad_sum_path(const GradSumNeeds& n) {
  if (n.ranks <= 1) return GradSumPath::None;
  if (!n.device_training) {
    if (n.host_grads) return GradSumPath::HostLoop;
    throw AgreedError("training over " + std::to_string(n.ranks) + " ranks on the " + n.backend +
                          " backend is not supported: it exposes no gradient buffer",
                      __FILE__, __LINE__);
  }
  if (n.grads_in_host_memory) return GradSumPath::HostStep;
  if (n.nccl) return GradSumPath::NcclStep;
  throw AgreedError("training over " + std::to_string(n.ranks) + " ranks on the " + n.backend +
                        " backend needs NCCL: " + n.nccl_why,
                    __FILE__, __LINE__);
}

std::unique_ptr<DeviceGradSum> join_nccl(Communicator& comm, const NcclIdFn& make_id,
                                         const NcclJoinFn& join) {
  NcclId id;
  run_agreed(comm, [&] {
    if (comm.rank() == 0) id = make_id();
  });
  comm.broadcast(id.bytes, sizeof id.bytes, 0);
  std::unique_ptr<DeviceGradSum> sum;
  run_agreed(comm, [&] {
    sum = join(id, comm.rank(), comm.size());
    EF_CHECK(sum, "no NCCL communicator for rank ", comm.rank());
  });
  return sum;
}

}  // namespace ef
