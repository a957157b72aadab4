// libechoflow_mpi.so: the MPI communicator (host/communicator_mpi.cpp) as a module that
// host/communicator_world.cpp loads with dlopen only under a launcher (mpirun, mpiexec, srun), so
// that programs run without one never map libmpi and its dependencies. It holds its own copy of
// the Communicator base (host/communicator.cpp) and exports these two C functions alone
// (host/mpi_module.version).
#pragma once
#include <cstddef>

namespace ef {
class Communicator;
}

extern "C" {
// MPI_Init_thread, then MPI_COMM_WORLD as a Communicator that lives until the process exits
// (MPI_Finalize runs from an atexit handler). nullptr with the reason in err on failure.
ef::Communicator* ef_mpi_module_world(int* argc, char*** argv, char* err, size_t errlen);
// The MPI library's version line ("Open MPI v4.1.4"), for --version. Needs no MPI_Init.
const char* ef_mpi_module_info();
}

namespace ef::detail {
constexpr const char* kMpiModuleFile = "libechoflow_mpi.so";
using MpiWorldFn = Communicator* (*)(int*, char***, char*, size_t);
using MpiInfoFn = const char* (*)();
}  // namespace ef::detail
