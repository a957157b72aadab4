// world() of a build without MPI (CMake EF_MPI=OFF, or AUTO without MPI found): one process.
// host/communicator_mpi.cpp replaces this file when MPI is compiled in.
#include "communicator.hpp"

namespace ef {

Communicator& world(int*, char***) { return single_process(); }

std::string scale_out_build_info() { return "MPI: not compiled; NCCL: not compiled (it needs MPI)"; }

}  // namespace ef
