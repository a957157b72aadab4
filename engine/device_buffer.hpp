// DeviceBuffer<Exec> and BufferPool<Exec>: executor memory that frees itself. A DeviceBuffer
// owns one allocation of an executor (engine/host_exec.hpp, kernels/cuda_exec.cuh), device
// memory or pinned host memory, and gives it back in its destructor; a BufferPool is a list of
// them that DeviceBackend fills as it builds a model, grows its activations or uploads a
// dataset. So a throw part way through (a constructor, reserve, upload_dataset, begin_stream)
// leaves nothing allocated that no object owns: the pools already built are destroyed with the
// backend, or keep what they hold until it is.
#pragma once
#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace ef {

enum class Memory { Device, PinnedHost };

template <class Exec>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // n elements of T (at least one, as the executors allocate), 0xFF bytes until written.
  template <class T>
  static DeviceBuffer make(Exec& exec, size_t n, Memory where) {
    DeviceBuffer b;
    b.exec_ = &exec;
    b.where_ = where;
    b.bytes_ = std::max<size_t>(n, 1) * sizeof(T);
    b.p_ = where == Memory::Device ? static_cast<void*>(exec.template alloc<T>(n))
                                   : static_cast<void*>(exec.template alloc_host<T>(n));
    return b;
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : exec_(o.exec_), p_(std::exchange(o.p_, nullptr)), bytes_(o.bytes_), where_(o.where_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      exec_ = o.exec_;
      p_ = std::exchange(o.p_, nullptr);
      bytes_ = o.bytes_;
      where_ = o.where_;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  void* get() const { return p_; }
  size_t bytes() const { return bytes_; }
  // Frees now (the executors' free never throws: a destructor calls it).
  void reset() noexcept {
    if (!p_) return;
    if (where_ == Memory::Device)
      exec_->free(p_);
    else
      exec_->free_host(p_);
    p_ = nullptr;
  }

 private:
  Exec* exec_ = nullptr;
  void* p_ = nullptr;
  size_t bytes_ = 0;
  Memory where_ = Memory::Device;
};

template <class Exec>
class BufferPool {
 public:
  BufferPool(Exec& exec, Memory where) : exec_(&exec), where_(where) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  template <class T>
  T* alloc(size_t n) {
    bufs_.reserve(bufs_.size() + 1);  // the push below cannot throw once the memory exists
    bufs_.push_back(DeviceBuffer<Exec>::template make<T>(*exec_, n, where_));
    return static_cast<T*>(bufs_.back().get());
  }
  // Frees every buffer (in allocation order).
  void clear() noexcept {
    for (DeviceBuffer<Exec>& b : bufs_) b.reset();
    bufs_.clear();
  }
  const std::vector<DeviceBuffer<Exec>>& buffers() const { return bufs_; }

 private:
  Exec* exec_;
  Memory where_;
  std::vector<DeviceBuffer<Exec>> bufs_;
};

}  // namespace ef
