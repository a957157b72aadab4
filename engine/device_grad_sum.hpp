// The gradient sum of data-parallel training on a device backend (docs/SCALE.md). A device
// step (engine/device_backend.hpp) calls sum() between backward and Adam, in the same stream
// order as its kernels, so the sum belongs to the step (and to its CUDA graph when the step is
// captured). Two implementations:
//   NCCL  ncclAllReduce on the device buffer (the CUDA module, engine/nccl_grad_sum.cu; made by
//         make_nccl_grad_sum in engine/device.cpp);
//   host  the host executor's buffers are host memory: any host communicator sums them
//         (host/grad_sum.cpp wraps ef::Communicator), which is how the CPU tests run the device
//         path of data-parallel training.
#pragma once
#include <cstddef>
#include <string>

namespace ef {

class DeviceGradSum {
 public:
  virtual ~DeviceGradSum() = default;
  // n floats at data, summed element-wise over the ranks in place. data is the executor's
  // memory; stream is its compute stream (Exec::collective_stream(): a cudaStream_t, or null on
  // the host executor). Ordered after the work already enqueued on the stream; returns before it
  // completes on a GPU.
  virtual void sum(float* data, size_t n, void* stream) = 0;
  // "nccl" or "host communicator" (progress lines and tests).
  virtual std::string name() const = 0;
};

}  // namespace ef
