// Ranks as threads of one process: an in-process ef::Communicator for the data-parallel tests
// (tests/unit/test_data_parallel.cpp, test_device_data_parallel.cpp), so the multi-rank paths
// run without MPI. The MPI build's tests/mpi/test_mpi.sh runs them through mpirun.
#pragma once
#include <echoflow/echoflow.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "communicator.hpp"

namespace eft_comm {

// Ranks as threads: every collective is an exchange of byte strings through a generation
// barrier; sums add in rank order, so every rank gets the same bits.
struct Exchange {
  std::mutex m;
  std::condition_variable cv;
  int size = 0, arrived = 0;
  uint64_t gen = 0;
  std::vector<std::string> slots, results;
  explicit Exchange(int n) : size(n), slots(size_t(n)) {}
  std::vector<std::string> run(int rank, std::string mine) {
    std::unique_lock<std::mutex> l(m);
    slots[size_t(rank)] = std::move(mine);
    const uint64_t g = gen;
    if (++arrived == size) {
      arrived = 0;
      results = slots;
      ++gen;
      cv.notify_all();
    } else {
      cv.wait(l, [&] { return gen != g; });
    }
    return results;
  }
};

class ThreadComm final : public ef::Communicator {
 public:
  ThreadComm(Exchange& x, int rank) : x_(x), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return x_.size; }
  void sum(float* d, size_t n) override { add(d, n); }
  void sum(double* d, size_t n) override { add(d, n); }
  int64_t min(int64_t v) override {
    int64_t out = v;
    for (auto& s : x_.run(rank_, std::string(reinterpret_cast<const char*>(&v), sizeof v))) {
      int64_t o;
      std::memcpy(&o, s.data(), sizeof o);
      out = std::min(out, o);
    }
    return out;
  }
  void broadcast(void* d, size_t bytes, int root) override {
    const auto all = x_.run(rank_, std::string(static_cast<const char*>(d), bytes));
    std::memcpy(d, all[size_t(root)].data(), bytes);
  }
  void send(const std::string&, int) override { throw std::logic_error("not used by training"); }
  std::string recv(int) override { throw std::logic_error("not used by training"); }
  std::vector<std::string> allgather(const std::string& mine) override { return x_.run(rank_, mine); }
  [[noreturn]] void abort(int) override { std::abort(); }

 private:
  template <class T>
  void add(T* d, size_t n) {
    const auto all = x_.run(rank_, std::string(reinterpret_cast<const char*>(d), n * sizeof(T)));
    std::vector<T> acc(n, T(0)), part(n);
    for (auto& s : all) {
      std::memcpy(part.data(), s.data(), n * sizeof(T));
      for (size_t i = 0; i < n; ++i) acc[i] += part[i];
    }
    std::copy(acc.begin(), acc.end(), d);
  }
  Exchange& x_;
  int rank_;
};

// f(comm) on R threads, each rank r of one ThreadComm of R ranks; returns when all have.
inline void on_ranks(int R, const std::function<void(ef::Communicator&)>& f) {
  Exchange x(R);
  std::vector<std::thread> th;
  for (int r = 0; r < R; ++r)
    th.emplace_back([&, r] {
      ThreadComm comm(x, r);
      f(comm);
    });
  for (auto& t : th) t.join();
}

// Model::fit(table(r), opt) on R thread ranks, opt.train.comm each rank's communicator: the
// models by rank. A rank's exception is rethrown once every rank has ended (the lowest rank's
// first), except that with `agreed` an ef::AgreedError is kept there as its message, by rank,
// and that rank's model left null.
inline std::vector<std::unique_ptr<echoflow::Model>> fit_on_ranks(
    int R, const echoflow::FitOptions& opt, const std::function<const echoflow::Table&(int)>& table,
    std::vector<std::string>* agreed = nullptr) {
  std::vector<std::unique_ptr<echoflow::Model>> models(static_cast<size_t>(R));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(R));
  if (agreed) agreed->assign(size_t(R), std::string());
  on_ranks(R, [&](ef::Communicator& comm) {
    const size_t r = size_t(comm.rank());
    echoflow::FitOptions o = opt;
    o.train.comm = &comm;
    try {
      models[r] = std::make_unique<echoflow::Model>(echoflow::Model::fit(table(comm.rank()), o));
    } catch (const ef::AgreedError& e) {
      if (agreed) (*agreed)[r] = e.what();
      else errors[r] = std::current_exception();
    } catch (...) {
      errors[r] = std::current_exception();
    }
  });
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return models;
}

}  // namespace eft_comm
