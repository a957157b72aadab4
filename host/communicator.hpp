// The one seam between EchoFlow and a multi-process launcher (docs/SCALE.md). Training,
// sampling and scoring talk to a Communicator; the single-process one (what every program gets
// without mpirun, and what the tests of one process use) makes each collective a no-op, and the
// MPI one (host/communicator_mpi.cpp, compiled when CMake's EF_MPI is on) runs them over
// MPI_COMM_WORLD. No other file includes mpi.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "error.hpp"

namespace ef {

// An error every rank throws with the same message (run_agreed): each rank may exit normally,
// and one (rank 0) reports it.
class AgreedError : public Error {
 public:
  using Error::Error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This rank's rank among the ranks on its node: a GPU rank trains on device local_rank mod
  // the node's device count (engine/cuda_module.hpp). The default, rank(), fits communicators
  // whose ranks share one process or node (the tests' in-process ranks).
  virtual int local_rank() const { return rank(); }
  // Element-wise sums over the ranks, in place. Every rank ends with the same values (MPI does
  // not promise bit-equal float results on every rank for R > 2; the trainer re-broadcasts the
  // parameters every epoch, host/trainer.cpp).
  virtual void sum(float* data, size_t n) = 0;
  virtual void sum(double* data, size_t n) = 0;
  virtual int64_t min(int64_t v) = 0;
  // root's `bytes` bytes at `data` to every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // Ordered point-to-point messages (rank 0 assembling an output file in rank order).
  virtual void send(const std::string& msg, int to) = 0;
  virtual std::string recv(int from) = 0;
  // Every rank's string, in rank order, on every rank (sharded data: encoder statistics and
  // samples gathered so that every rank fits the same encoders). The default is one broadcast
  // per rank; the MPI communicator overrides it with MPI_Allgatherv.
  virtual std::vector<std::string> allgather(const std::string& mine);
  // Ends every rank at once (a failure outside an agreed phase, see run_agreed).
  [[noreturn]] virtual void abort(int code) = 0;
};

// The communicator of a program run without a launcher: rank 0 of 1.
Communicator& single_process();

// MPI_COMM_WORLD when this binary has MPI and was started by a launcher (mpirun, mpiexec,
// srun: detected from the environment variables they set), else single_process(). MPI stays
// initialized until the program exits (finalized by an atexit handler).
Communicator& world(int* argc, char*** argv);

// "MPI: compiled (Open MPI v4.1.6); NCCL: compiled (2.28.9)" for --version: NCCL is compiled
// when the build's CUDA module has it (CUDA + MPI builds with nccl.h, CMake EF_NCCL).
std::string scale_out_build_info();

// A phase that may fail on some ranks but not others (reading a shard, fitting, drawing rows):
// runs `phase`, then every rank learns whether any rank failed, and if one did every rank throws
// AgreedError with the message of the lowest failing rank, prefixed "rank R: ". No rank is left
// waiting in a later collective for a rank that died.
void run_agreed(Communicator& comm, const std::function<void()>& phase);

// The local_rank argument of ef::make_backend (engine/backend.hpp) on this rank: its rank on its
// node when it is one of several ranks, so that every rank of a node trains, samples and scores
// on a GPU of its own (device local_rank mod the node's devices, engine/cuda_module.hpp); -1 for
// a process alone or no communicator (the thread's current device, as without a launcher).
int backend_local_rank(const Communicator* ranks);

// root's string on every rank.
std::string broadcast_string(Communicator& comm, const std::string& s, int root);

}  // namespace ef
