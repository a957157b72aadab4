// The float dense-layer product of the CPU forward passes (density and sampling direction):
//   out (rows, n) = act(bias + A1 (rows, k1) W1^T + A2 (rows, k2) W2^T)
// with W1, W2 row-major (n rows, stride ldw), written for the narrow shapes of a flow's
// conditioners (K = D or D/2 in the first layer, N = 2D or a few units in the last, the MADE
// column blocks and the incremental MADE inverse's unit blocks), where OpenBLAS's packing and
// dispatch cost more than the multiply. Bias and ReLU are applied in the same pass (no bias copy
// before the product, no activation pass after it); the two sources are a MADE layer's input
// and its context (MaskedMLP::forward_ctx), summed in one accumulator.
//
// An element's order of additions depends only on (n, k1, k2) and its column, never on `rows`,
// the row's place in the call, or the thread that runs it: results are deterministic and
// independent of thread count, tile and chunk size (docs/MATH.md, "Float arithmetic on the
// CPU"). Compiled for AVX2 + FMA only; dense_f32_available() is false on other CPUs, where
// callers keep the OpenBLAS path (a different, also deterministic, set of bits).
#pragma once
#include <vector>

namespace ef {

bool dense_f32_available();

// One layer block's weights packed for the kernel, reused over many row tiles (a forward pass
// packs each block once per call, not once per 256-row tile). The weights and bias passed to
// pack must stay alive and unchanged until the last run (the 1-3 columns left after the panels
// are read in place).
class DenseF32 {
 public:
  // w2 may be null when k2 == 0.
  void pack(int n, const float* w1, int k1, const float* w2, int k2, int ldw, const float* bias);
  void run(int rows, const float* a1, int lda1, const float* a2, int lda2, bool relu, float* out,
           int ld_out) const;
  int columns() const { return n_; }

 private:
  int n_ = 0, k1_ = 0, k2_ = 0, ldw_ = 0, n16_ = 0;
  std::vector<float> p16_, p8_;  // panels (k-major) then the padded bias
  const float *w1_ = nullptr, *w2_ = nullptr, *bias_ = nullptr;
};

// pack + run in one call (a thread-local pack). a2 / w2 may be null when k2 == 0. lda1 / lda2: row strides of A1 / A2; ldw: of W1 and W2
// (row j of W1 at w1 + j * ldw); ld_out: of out. relu: max(0, .) on the result.
void dense_f32(int rows, int n, const float* a1, int lda1, int k1, const float* w1,
               const float* a2, int lda2, int k2, const float* w2, int ldw, const float* bias,
               bool relu, float* out, int ld_out);

}  // namespace ef
