#include "communicator.hpp"

#include <cstdlib>
#include <exception>
#include <vector>

#include "error.hpp"

namespace ef {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(float*, size_t) override {}
  void sum(double*, size_t) override {}
  int64_t min(int64_t v) override { return v; }
  void broadcast(void*, size_t, int) override {}
  void send(const std::string&, int to) override {
    EF_THROW("send to rank ", to, " in a single-process run");
  }
  std::string recv(int from) override { EF_THROW("recv from rank ", from, " in a single-process run"); }
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

}  // namespace

Communicator& single_process() {
  static SingleProcess one;
  return one;
}

int backend_local_rank(const Communicator* ranks) {
  return ranks && ranks->size() > 1 ? ranks->local_rank() : -1;
}

std::string broadcast_string(Communicator& comm, const std::string& s, int root) {
  if (comm.size() == 1) return s;
  uint64_t n = s.size();
  comm.broadcast(&n, sizeof n, root);
  std::string out = comm.rank() == root ? s : std::string(size_t(n), '\0');
  if (n) comm.broadcast(out.data(), size_t(n), root);
  return out;
}

std::vector<std::string> Communicator::allgather(const std::string& mine) {
  std::vector<std::string> all;
  for (int q = 0; q < size(); ++q) all.push_back(broadcast_string(*this, mine, q));
  return all;
}

void run_agreed(Communicator& comm, const std::function<void()>& phase) {
  if (comm.size() == 1) {  // errors propagate unchanged
    phase();
    return;
  }
  std::string msg;
  try {
    phase();
  } catch (const AgreedError&) {
    throw;  // every rank already has it
  } catch (const std::exception& e) {
    msg = e.what();
    if (msg.empty()) msg = "unknown error";
  }
  const int64_t failed = comm.min(msg.empty() ? int64_t(comm.size()) : int64_t(comm.rank()));
  if (failed == comm.size()) return;
  const std::string m = broadcast_string(comm, msg, int(failed));
  throw AgreedError("rank " + std::to_string(failed) + ": " + m, __FILE__, __LINE__);
}

}  // namespace ef
