// Row reductions of the flow's output (engine/flow.cpp log_prob/backward):
//   logp[r] = logdet[r] + sum_i log N(z[r, i]; 0, 1)      and its backward,
// plus a deterministic batch sum (the mean log p / loss read back to the host).
// Letters: B rows, D dimensions.
#pragma once
#include <cuda_runtime.h>

namespace ef::kernels {

// logp (B) = logdet (B) + row sums of log_normal(z) (B, D). One warp per row.
void log_prob_rows_cuda(const float* z, const float* logdet, int B, int D, float* logp,
                        cudaStream_t stream);

// Base backward: dz[r, i] = -dlogp[r] * z[r, i] (d log N / dz = -z). The log-dets enter log p
// with weight 1, so the layers' dlogdet is dlogp itself.
void log_prob_backward_cuda(const float* z, const float* dlogp, int B, int D, float* dz,
                            cudaStream_t stream);

// out[0] = scale * sum_r v[r], accumulated in double by one block in a fixed order
// (deterministic; scale = 1/B gives the batch mean). out is a device pointer.
void sum_scaled_cuda(const float* v, int n, double scale, double* out, cudaStream_t stream);

}  // namespace ef::kernels
