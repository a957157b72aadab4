// world() and scale_out_build_info(). Builds without MPI (CMake EF_MPI=OFF, or AUTO without MPI
// found) are one process. MPI builds keep the MPI communicator in the module libechoflow_mpi.so
// (host/mpi_module.hpp), loaded only when a launcher started this process.
#include <cstdlib>
#include <string>

#include "communicator.hpp"
#include "error.hpp"

#ifdef EF_HAVE_MPI
#include <dlfcn.h>

#include "cuda_loader.hpp"  // ef::detail::find_module: the modules' common search path
#include "mpi_module.hpp"
#endif

namespace ef {

#ifdef EF_HAVE_MPI
namespace {

// Set by mpirun/mpiexec (Open MPI, MPICH/Hydra) or srun (PMI-2, PMIx).
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

// The module's handle, loaded once and never closed (MPI stays initialized until exit); null
// with the reason in *why.
void* mpi_module(std::string* why) {
  static std::string error;
  static void* handle = [] () -> void* {
    const std::string path = detail::find_module(detail::kMpiModuleFile, "EF_MPI_MODULE");
    const char* env = std::getenv("EF_MPI_MODULE");
    if (path.empty() && env && env[0]) {
      error = std::string("EF_MPI_MODULE=") + env + " is not a file";
      return nullptr;
    }
    if (path.empty()) {
      error = std::string(detail::kMpiModuleFile) +
              " not found next to the program, in its ../lib folder or on its library search"
              " path (set EF_MPI_MODULE to its path)";
      return nullptr;
    }
    // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols through it.
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      const char* e = dlerror();
      error = "cannot load " + path + ": " + (e ? e : "unknown dlopen error");
    }
    return h;
  }();
  if (!handle && why) *why = error;
  return handle;
}

template <class F>
F module_fn(const char* name) {
  std::string why;
  void* h = mpi_module(&why);
  if (!h) EF_THROW("MPI: ", why);
  void* f = dlsym(h, name);
  if (!f) EF_THROW("MPI: the module has no entry point ", name);
  return reinterpret_cast<F>(f);
}

}  // namespace

Communicator& world(int* argc, char*** argv) {
  static Communicator* w = [&]() -> Communicator* {
    if (!launched_by_mpi()) return &single_process();
    char err[512] = {0};
    Communicator* c = module_fn<detail::MpiWorldFn>("ef_mpi_module_world")(argc, argv, err, sizeof(err));
    if (!c) EF_THROW(err[0] ? err : "MPI initialization failed");
    return c;
  }();
  return *w;
}

std::string scale_out_build_info() {
  std::string mpi;
  std::string why;
  if (mpi_module(&why))
    mpi = "MPI: compiled (" + std::string(module_fn<detail::MpiInfoFn>("ef_mpi_module_info")()) + ")";
  else
    mpi = "MPI: compiled, module not loadable (" + why + ")";
#ifdef EF_NCCL_VERSION
  return mpi + "; NCCL: compiled (" EF_NCCL_VERSION ", in the CUDA module)";
#else
  return mpi + "; NCCL: not compiled (it needs a CUDA build with nccl.h)";
#endif
}

#else

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

#endif

}  // namespace ef
