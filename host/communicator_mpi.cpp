// The MPI communicator (CMake EF_MPI on): MPI_COMM_WORLD. Built as the module
// libechoflow_mpi.so (host/mpi_module.hpp), which host/communicator_world.cpp loads only when a
// launcher started the process: a plain `eftrain ...` neither initializes MPI nor maps its
// libraries (libmpi and its dependencies were ~half of a one-row sample's start-up CPU time,
// bench/results/e2e_startup_2026-11-30.md).
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "communicator.hpp"
#include "error.hpp"
#include "mpi_module.hpp"

namespace ef {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, buf, &len);
  EF_THROW(what, " failed: ", std::string(buf, size_t(len)));
}

// MPI counts are ints: long buffers go in pieces of at most 2^30 elements.
constexpr size_t kPiece = size_t(1) << 30;

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Errors come back as codes (reported as ef::Error) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    // The rank among the ranks sharing this node's memory, from MPI itself: launchers' variables
    // (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID) depend on the launcher, and SLURM_LOCALID is
    // the batch step's (0 on every rank) under mpirun inside an allocation.
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
  }
  int rank() const override { return rank_; }
  int local_rank() const override { return local_rank_; }
  int size() const override { return size_; }
  void sum(float* data, size_t n) override { reduce(data, n, MPI_FLOAT); }
  void sum(double* data, size_t n) override { reduce(data, n, MPI_DOUBLE); }
  int64_t min(int64_t v) override {
    int64_t out = v;
    check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
  }
  void broadcast(void* data, size_t bytes, int root) override {
    char* p = static_cast<char*>(data);
    for (size_t o = 0; o < bytes; o += kPiece)
      check(MPI_Bcast(p + o, int(std::min(kPiece, bytes - o)), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void send(const std::string& msg, int to) override {
    const uint64_t n = msg.size();
    check(MPI_Send(&n, 1, MPI_UINT64_T, to, 1, MPI_COMM_WORLD), "MPI_Send");
    for (size_t o = 0; o < n; o += kPiece)
      check(MPI_Send(msg.data() + o, int(std::min<size_t>(kPiece, n - o)), MPI_BYTE, to, 2, MPI_COMM_WORLD),
            "MPI_Send");
  }
  std::string recv(int from) override {
    uint64_t n = 0;
    check(MPI_Recv(&n, 1, MPI_UINT64_T, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
    std::string s(size_t(n), '\0');
    for (size_t o = 0; o < n; o += kPiece)
      check(MPI_Recv(s.data() + o, int(std::min<size_t>(kPiece, n - o)), MPI_BYTE, from, 2, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE),
            "MPI_Recv");
    return s;
  }
  std::vector<std::string> allgather(const std::string& mine) override {
    // Lengths first, then the bytes in rounds of at most kPiece / R per rank (int counts and
    // displacements).
    const uint64_t n = mine.size();
    std::vector<uint64_t> lens(static_cast<size_t>(size_), 0);
    check(MPI_Allgather(&n, 1, MPI_UINT64_T, lens.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
    std::vector<std::string> all(static_cast<size_t>(size_));
    for (int q = 0; q < size_; ++q) all[size_t(q)].resize(size_t(lens[size_t(q)]));
    const uint64_t longest = *std::max_element(lens.begin(), lens.end());
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    std::vector<char> buf;
    const uint64_t step = std::max<uint64_t>(1, kPiece / uint64_t(size_));
    for (uint64_t o = 0; o < longest || o == 0; o += step) {
      int total = 0;
      for (int q = 0; q < size_; ++q) {
        const uint64_t len = lens[size_t(q)];
        counts[size_t(q)] = int(len > o ? std::min<uint64_t>(step, len - o) : 0);
        displs[size_t(q)] = total;
        total += counts[size_t(q)];
      }
      buf.resize(size_t(total) + 1);
      const int mine_n = counts[static_cast<size_t>(rank_)];
      check(MPI_Allgatherv(mine.data() + (mine_n ? o : 0), mine_n, MPI_BYTE, buf.data(), counts.data(),
                           displs.data(), MPI_BYTE, MPI_COMM_WORLD),
            "MPI_Allgatherv");
      for (int q = 0; q < size_; ++q)
        std::copy(buf.begin() + displs[size_t(q)], buf.begin() + displs[size_t(q)] + counts[size_t(q)],
                  all[size_t(q)].begin() + long(o));
      if (longest == 0) break;
    }
    return all;
  }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

 private:
  void reduce(void* data, size_t n, MPI_Datatype t) {
    int es = 0;
    MPI_Type_size(t, &es);
    char* p = static_cast<char*>(data);
    for (size_t o = 0; o < n; o += kPiece)
      check(MPI_Allreduce(MPI_IN_PLACE, p + o * size_t(es), int(std::min(kPiece, n - o)), t, MPI_SUM,
                          MPI_COMM_WORLD),
            "MPI_Allreduce");
  }
  int rank_ = 0, size_ = 1, local_rank_ = 0;
};

}  // namespace
}  // namespace ef

// The module's entry points (host/mpi_module.hpp); errors come back as text, never as exceptions
// across the module boundary.
extern "C" ef::Communicator* ef_mpi_module_world(int* argc, char*** argv, char* err, size_t errlen) {
  try {
    int provided = 0;
    // The trainer calls MPI from one thread only (OpenMP threads never do).
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      EF_THROW("MPI_Init_thread failed");
    std::atexit([] {
      int done = 0;
      MPI_Finalized(&done);
      if (!done) MPI_Finalize();
    });
    static ef::MpiWorld mw;
    return &mw;
  } catch (const std::exception& e) {
    if (errlen) std::snprintf(err, errlen, "%s", e.what());
    return nullptr;
  }
}

extern "C" const char* ef_mpi_module_info() {
  static const std::string info = [] {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    std::string v(lib, size_t(len));
    if (const size_t cut = v.find_first_of(",\n"); cut != std::string::npos) v.resize(cut);
    return v;
  }();
  return info.c_str();
}
