// Adam/AdamW on the flat parameter buffer, one fused elementwise kernel. Step-dependent values
// (lr, bias corrections) are read from device memory so the launch can live in a CUDA graph.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace ef::kernels {

struct AdamDeviceScalars {
  float lr, bc1, bc2;  // bc = 1 - beta^t, written by the host (or a tiny kernel) before replay
};

// p, g, m, v: n floats each (device). scalars: device pointer.
void adam_cuda(float* p, const float* g, float* m, float* v, size_t n,
               const AdamDeviceScalars* scalars, float beta1, float beta2, float eps,
               float weight_decay, cudaStream_t stream);

}  // namespace ef::kernels
