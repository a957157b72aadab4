// Counter-based random fills (kernels/flow_math.hpp rand_normal / rand_uniform): element i gets
// the draw for counter (offset + i), so the values do not depend on launch shape and equal the
// CPU's. JointModel::sample's base draws for rows [row_offset, row_offset + B) of D dims are
// fill_normal_cuda(z, B * D, seed, 1, row_offset * D).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace ef::kernels {

// out[i] = float(rand_normal(seed, stream_id, offset + i)), i < n.
void fill_normal_cuda(float* out, size_t n, uint64_t seed, uint64_t stream_id, uint64_t offset,
                      cudaStream_t stream);
// out[i] = float(rand_uniform(seed, stream_id, offset + i)), i < n.
void fill_uniform_cuda(float* out, size_t n, uint64_t seed, uint64_t stream_id, uint64_t offset,
                       cudaStream_t stream);

}  // namespace ef::kernels
