// Masked dense layer of the conditioner MLPs, on the device. Masked weights are stored as zeros,
// so the products are plain dense GEMMs (cuBLAS); masks only touch the weight gradient.
// Letters: B rows, nin inputs, nout outputs. Everything row-major, like engine/masked_mlp.cpp:
//   X (B, nin)   W (nout, nin)   b (nout)   Y, dZ (B, nout)   mask (nout, nin)
// The cuBLAS handle is the caller's; each launcher binds it to `stream` (cublasSetStream) and
// leaves its math mode alone (default: full fp32, no TF32), so results match the CPU to float
// tolerance.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace ef::kernels {

// Activation after a dense layer (the output layer of an MLP has none: Identity).
enum class Act : int { Identity = 0, ReLU = 1, Tanh = 2 };

// Y = act(X W^T + b): one GEMM, then one fused bias + activation kernel.
void masked_linear_forward_cuda(cublasHandle_t handle, const float* X, const float* W,
                                const float* b, int B, int nin, int nout, Act act, float* Y,
                                cudaStream_t stream);

// Floats of scratch masked_linear_backward_cuda needs for B rows and nout outputs (the
// deterministic two-pass bias-gradient reduction).
size_t masked_linear_backward_workspace(int B, int nout);

// Backward of Z = X W^T + b, given dZ = dL/dZ (any activation of Z already applied):
//   dW += dZ^T X, then dW *= mask   (masked weights keep exactly zero gradient, as on the CPU)
//   db += colsum(dZ)
//   dX  = (dZ W) * act_in'(X)       (overwritten; dX == nullptr skips it)
// input_act is the activation that produced X (Identity for the network input); its derivative
// is taken from X itself (ReLU: X > 0, Tanh: 1 - X^2), so dX is already the gradient with
// respect to the previous layer's pre-activation. workspace: masked_linear_backward_workspace
// floats.
void masked_linear_backward_cuda(cublasHandle_t handle, const float* X, const float* W,
                                 const float* mask, const float* dZ, int B, int nin, int nout,
                                 Act input_act, float* dW, float* db, float* dX, float* workspace,
                                 cudaStream_t stream);

// dH *= act'(H) for n values, H the post-activation values.
void activation_backward_cuda(const float* H, size_t n, Act act, float* dH, cudaStream_t stream);

// out (cols) += column sums of A (rows, cols), in a fixed order (deterministic).
// workspace: masked_linear_backward_workspace(rows, cols) floats.
void colsum_add_cuda(const float* A, int rows, int cols, float* out, float* workspace,
                     cudaStream_t stream);

}  // namespace ef::kernels
