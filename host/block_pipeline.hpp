// Overlaps producing blocks with consuming them: `consume` runs on one background thread, one
// block behind the producer, so a stream costs the slower of the two stages, not their sum
// (sample: drawing the next block while the previous one is formatted and written).
// At most three blocks exist at once: the producer's, the one handed over, the one consumed.
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace ef {

template <class Block>
class BlockPipeline {
 public:
  explicit BlockPipeline(std::function<void(Block&)> consume)
      : consume_(std::move(consume)), thread_([this] { run(); }) {}
  ~BlockPipeline() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  BlockPipeline(const BlockPipeline&) = delete;
  BlockPipeline& operator=(const BlockPipeline&) = delete;

  // Hands `block` over (swapped with an emptied one, whose storage the producer may reuse);
  // waits while the previous block has not been taken. Rethrows a consumer error.
  void push(Block& block) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !full_ || err_; });
    if (err_) std::rethrow_exception(err_);
    std::swap(slot_, block);
    full_ = true;
    cv_.notify_all();
  }
  // Waits until every block is consumed; rethrows a consumer error.
  void finish() {
    {
      std::unique_lock<std::mutex> l(mu_);
      done_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    if (err_) std::rethrow_exception(err_);
  }

 private:
  void run() {
    Block work;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return full_ || done_; });
        if (!full_) return;  // done and drained
        std::swap(work, slot_);
        full_ = false;
        cv_.notify_all();
      }
      try {
        consume_(work);
      } catch (...) {
        std::lock_guard<std::mutex> l(mu_);
        err_ = std::current_exception();
        cv_.notify_all();
        return;
      }
    }
  }

  std::function<void(Block&)> consume_;
  std::mutex mu_;
  std::condition_variable cv_;
  Block slot_;
  bool full_ = false, done_ = false;
  std::exception_ptr err_;
  std::thread thread_;  // last: started after every other member exists
};

}  // namespace ef
