// The elementwise part of the MAF and affine-coupling forward passes (density direction) on
// float rows: the soft clamp (tanh), exp and affine step per element, without the log-det sum.
// Compiled twice, for x86-64 and for AVX2 without FMA, and picked when the program loads
// (target_clones): AVX2 does the same IEEE operations in each lane, twice as many lanes at a
// time, and without FMA no multiply-add is contracted, so both give the same bits. The log-det
// sum stays in the layers, in their original loop, so its order of additions is unchanged.
#pragma once

namespace ef {

// Rows per call from the layers' row loops (a block's alpha stays in L1 for the log-det sums).
constexpr int kAffineRows = 64;

// Rows r < B of h (B, 2D) = [mu | a], x, z (B, D), alpha (B, D):
// alpha = c tanh(a / c) (c <= 0: a), z = (x - mu) exp(-alpha).
void maf_forward_rows(const float* h, const float* x, int B, int D, float clamp, float* z, float* alpha);
// Rows r < B of h (B, 2n) = [t | s_raw], x, z, s (B, n): s = c tanh(s_raw / c), z = x exp(s) + t.
void coupling_forward_rows(const float* h, const float* x, int B, int n, float clamp, float* z, float* s);

}  // namespace ef
