// Produces blocks one ahead of their consumer on one long-lived background thread: the next
// block is read while this one is used (score: the next CSV block is read and parsed while this
// one is scored), so a stream costs nearer the slower of the two stages than their sum.
// At most two blocks exist at once: the consumer's, and the one the producer fills. The blocks
// are swapped, so the producer may reuse the storage of the block the consumer gave back.
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace ef {

template <class Block>
class BlockPrefetch {
 public:
  // produce(block) fills `block` and returns true, or returns false when there are no more
  // blocks; it runs on the background thread only, one call at a time.
  explicit BlockPrefetch(std::function<bool(Block&)> produce)
      : produce_(std::move(produce)), thread_([this] { run(); }) {}
  // Stops the producer after the block it is filling (an error of the consumer ends the stream).
  ~BlockPrefetch() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  BlockPrefetch(const BlockPrefetch&) = delete;
  BlockPrefetch& operator=(const BlockPrefetch&) = delete;

  // The next block, swapped into `block`; false after the last one. Rethrows the producer's
  // error at the block where it happened, so the blocks before it are used first.
  bool next(Block& block) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return full_; });
    if (err_) std::rethrow_exception(err_);
    if (end_) return false;
    std::swap(slot_, block);
    full_ = false;
    cv_.notify_all();
    return true;
  }

 private:
  void run() {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return !full_ || stop_; });
        if (stop_) return;
      }
      // slot_ is this thread's until full_ is set: next() touches it only when full_.
      bool more = false;
      std::exception_ptr err;
      try {
        more = produce_(slot_);
      } catch (...) {
        err = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        err_ = err;
        end_ = !more;
        full_ = true;
      }
      cv_.notify_all();
      if (!more) return;
    }
  }

  std::function<bool(Block&)> produce_;
  std::mutex mu_;
  std::condition_variable cv_;
  Block slot_;
  bool full_ = false, end_ = false, stop_ = false;
  std::exception_ptr err_;
  std::thread thread_;  // last: started after every other member exists
};

}  // namespace ef
