// NCCL in the CUDA module (engine/device_collective.hpp, engine/cuda_module.hpp): the gradient
// sum of data-parallel training as ncclAllReduce on the device gradient buffer, enqueued on the
// backend's compute stream inside the training step. NCCL supports stream capture (2.9+), so a
// step captured as a CUDA graph (engine/device_backend_impl.hpp) holds the allreduce as one of
// its nodes and every replay runs it. Compiled only when CMake found NCCL (EF_HAVE_NCCL).
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "device_collective.hpp"
#include "error.hpp"
#include "nccl_grad_sum.hpp"

namespace ef {

static_assert(sizeof(ncclUniqueId) == kNcclIdBytes, "kNcclIdBytes must be NCCL_UNIQUE_ID_BYTES");

namespace {

void copy_message(const std::string& msg, char* out, size_t cap) {
  if (out && cap > 0) std::snprintf(out, cap, "%s", msg.c_str());
}

std::string nccl_error(const char* call, ncclResult_t rc, ncclComm_t comm) {
  std::string m = std::string(call) + " failed: " + ncclGetErrorString(rc);
  if (const char* last = ncclGetLastError(comm); last && last[0]) m += std::string(" (") + last + ")";
  return m;
}

class NcclGradSum final : public DeviceGradSum {
 public:
  NcclGradSum(const ncclUniqueId& id, int rank, int ranks) {
    const ncclResult_t rc = ncclCommInitRank(&comm_, ranks, id, rank);
    if (rc != ncclSuccess) EF_THROW(nccl_error("ncclCommInitRank", rc, nullptr));
  }
  ~NcclGradSum() override {
    // Errors are ignored at teardown; ncclCommDestroy waits for this rank's pending work.
    if (comm_) ncclCommDestroy(comm_);
  }
  NcclGradSum(const NcclGradSum&) = delete;
  NcclGradSum& operator=(const NcclGradSum&) = delete;

  void sum(float* data, size_t n, void* stream) override {
    const ncclResult_t rc = ncclAllReduce(data, data, n, ncclFloat, ncclSum, comm_,
                                          static_cast<cudaStream_t>(stream));
    if (rc != ncclSuccess) EF_THROW(nccl_error("ncclAllReduce", rc, comm_));
  }
  std::string name() const override {
    int v = 0;
    ncclGetVersion(&v);
    return "nccl " + std::to_string(v);
  }

 private:
  ncclComm_t comm_ = nullptr;
};

}  // namespace

int module_nccl_unique_id(void* out, size_t bytes, char* err, size_t cap) {
  if (bytes != sizeof(ncclUniqueId)) {
    copy_message("unique id of " + std::to_string(bytes) + " bytes, NCCL's has " +
                     std::to_string(sizeof(ncclUniqueId)),
                 err, cap);
    return -1;
  }
  ncclUniqueId id;
  if (const ncclResult_t rc = ncclGetUniqueId(&id); rc != ncclSuccess) {
    copy_message(nccl_error("ncclGetUniqueId", rc, nullptr), err, cap);
    return -1;
  }
  std::memcpy(out, &id, sizeof id);
  return 0;
}

// Exceptions stop here: the module's table is a C interface.
DeviceGradSum* module_make_nccl_grad_sum(const void* id, size_t bytes, int rank, int ranks,
                                         char* err, size_t cap) {
  try {
    if (bytes != sizeof(ncclUniqueId)) EF_THROW("unique id of ", bytes, " bytes, NCCL's has ", sizeof(ncclUniqueId));
    ncclUniqueId u;
    std::memcpy(&u, id, sizeof u);
    return new NcclGradSum(u, rank, ranks);
  } catch (const std::exception& e) {
    copy_message(e.what(), err, cap);
  } catch (...) {
    copy_message("unknown error while creating the NCCL communicator", err, cap);
  }
  return nullptr;
}

}  // namespace ef
