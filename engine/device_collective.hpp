// NCCL for data-parallel training on GPUs (docs/SCALE.md), reached through the CUDA module
// (engine/cuda_module.hpp) so that no engine or host file links NCCL or includes nccl.h. The
// host decides when to use it and exchanges the unique id over its own communicator
// (host/grad_sum.cpp).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "device_grad_sum.hpp"

namespace ef {

// ncclUniqueId's size (NCCL_UNIQUE_ID_BYTES; engine/nccl_grad_sum.cu checks it).
constexpr size_t kNcclIdBytes = 128;
struct NcclId {
  unsigned char bytes[kNcclIdBytes] = {};
};

// Whether the loaded CUDA module has NCCL: false, with the reason, when the module is absent,
// no GPU is usable, or it was built without NCCL (CUDA build without MPI or nccl.h).
bool nccl_available(std::string* why);
// A new unique id (rank 0 makes it; every rank of the communicator must get the same bytes).
NcclId nccl_unique_id();
// This rank's member of an NCCL communicator of `ranks` ranks (collective: every rank calls it
// with the same id), on the CUDA device current on this thread (make_backend's local_rank).
std::unique_ptr<DeviceGradSum> make_nccl_grad_sum(const NcclId& id, int rank, int ranks);

}  // namespace ef
