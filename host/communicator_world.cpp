// world() of a build without MPI (CMake EF_MPI=OFF, or AUTO without MPI found): one process.
// host/communicator_mpi.cpp replaces this file when MPI is compiled in.
#include <cstdlib>
#include <string>

#include "communicator.hpp"

namespace ef {

// Started by mpirun/mpiexec (Open MPI, MPICH/Hydra) or srun (PMI-2) as one of several ranks, this
// build would run the whole job on every rank, each writing the same files: refused instead.
Communicator& world(int*, char***) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* n = std::getenv(v);
    if (n && std::atoi(n) > 1)
      EF_THROW("started as one of ", n, " ranks (", v, "=", n, ") but this eftrain was built without MPI "
               "(CMake EF_MPI=OFF, or MPI not found): every rank would run the whole job; build with MPI "
               "(libopenmpi-dev, docs/SCALE.md) or run it without mpirun/srun");
  }
  return single_process();
}

std::string scale_out_build_info() { return "MPI: not compiled; NCCL: not compiled (it needs MPI)"; }

}  // namespace ef
