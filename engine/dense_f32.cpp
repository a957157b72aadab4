#include "dense_f32.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace ef {

#if defined(__x86_64__) && defined(__GNUC__)

bool dense_f32_available() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

namespace {

#define EF_AVX2 __attribute__((target("avx2,fma")))
#define EF_AVX2_LAMBDA __attribute__((target("avx2,fma")))

// The columns are cut into panels of 8 * NV columns (the last one padded with zero weights);
// a panel's weights are packed k-major (panel[k][j], A1's k1 columns then A2's k2), so each
// step over k reads one or two contiguous vectors. The micro-tile is MR rows x one panel, its
// accumulators start at the bias and take one FMA per k in k order: a column's result depends
// only on (k1, k2) and the values, not on where the row or tile sits.

EF_AVX2 inline __m256i tail_mask(int valid) {  // lanes [0, valid) set
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lane);
}

struct Panel {
  const float* w;     // (k1 + k2) x (8 * NV), k-major
  const float* bias;  // 8 * NV, zero-padded
  int cols;           // real columns in the panel (1..8 * NV)
};

// acc[r] += a[r, k] * w[k] for k < kn, k in order; returns w past the kn rows it read.
template <int MR, int NV>
EF_AVX2 inline const float* accumulate(__m256 (&acc)[MR][NV], const float* a, int lda, int kn,
                                       const float* w) {
  for (int k = 0; k < kn; ++k, w += 8 * NV) {
    __m256 wv[NV];
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) wv[v] = _mm256_loadu_ps(w + 8 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + size_t(r) * lda + k);
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(x, wv[v], acc[r][v]);
    }
  }
  return w;
}

template <int MR, int NV>
EF_AVX2 void micro(const float* a1, int lda1, int k1, const float* a2, int lda2, int k2,
                   const Panel& p, bool relu, float* out, int ld_out) {
  __m256 acc[MR][NV];
  #pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    const __m256 b = _mm256_loadu_ps(p.bias + 8 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[r][v] = b;
  }
  accumulate<MR, NV>(acc, a2, lda2, k2, accumulate<MR, NV>(acc, a1, lda1, k1, p.w));
  if (relu) {
    const __m256 zero = _mm256_setzero_ps();
    // max(x, 0) returns the second operand for NaN x: 0, as (x > 0 ? x : 0) does.
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_max_ps(acc[r][v], zero);
  }
  if (p.cols == 8 * NV) {
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) _mm256_storeu_ps(out + size_t(r) * ld_out + 8 * v, acc[r][v]);
    return;
  }
  #pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    const int valid = std::min(8, p.cols - 8 * v);
    if (valid <= 0) break;
    const __m256i mask = tail_mask(valid);
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) _mm256_maskstore_ps(out + size_t(r) * ld_out + 8 * v, mask, acc[r][v]);
  }
}

template <int NV>
using MicroFn = void (*)(const float*, int, int, const float*, int, int, const Panel&, bool,
                         float*, int);

template <int NV, int... R>
constexpr MicroFn<NV> micro_table(int mr, std::integer_sequence<int, R...>) {
  constexpr MicroFn<NV> t[] = {micro<R + 1, NV>...};
  return t[mr - 1];
}

// All rows through one panel width: MR rows at a time (6 x 16 or 12 x 8: 12 accumulators), the
// rest of the rows in one smaller tile.
template <int NV>
EF_AVX2 void run_panels(int rows, int n, const float* a1, int lda1, int k1, const float* a2,
                        int lda2, int k2, const float* wpack, const float* bpack, bool relu,
                        float* out, int ld_out) {
  constexpr int NR = 8 * NV, MR = NV == 2 ? 6 : 12;
  const int panels = (n + NR - 1) / NR, K = k1 + k2;
  const int tail = rows % MR;
  const MicroFn<NV> tail_fn = tail ? micro_table<NV>(tail, std::make_integer_sequence<int, MR>{}) : nullptr;
  for (int i = 0; i < rows; i += MR) {
    const int mr = std::min(MR, rows - i);
    const float* ai1 = a1 + size_t(i) * lda1;
    const float* ai2 = a2 ? a2 + size_t(i) * lda2 : nullptr;
    for (int p = 0; p < panels; ++p) {
      const int j0 = p * NR;
      const Panel pan{wpack + size_t(p) * K * NR, bpack + size_t(p) * NR,
                      std::min(NR, n - j0)};
      float* o = out + size_t(i) * ld_out + j0;
      if (mr == MR) {
        micro<MR, NV>(ai1, lda1, k1, ai2, lda2, k2, pan, relu, o, ld_out);
      } else {
        tail_fn(ai1, lda1, k1, ai2, lda2, k2, pan, relu, o, ld_out);
      }
    }
  }
}

// Horizontal sum in a fixed order: (lanes 0-3 + lanes 4-7), then pairs, then the last two.
EF_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Few columns (1-3: the incremental MADE inverse's output units, the rest of a layer after its
// panels): one dot product per element along k, no packing (a panel would be mostly padding).
// R rows x C columns at a time share the loads and give R * C independent FMA chains; every
// element still gets its own lanes' sums in k order and the same final reduction, so its bits
// do not depend on its row group.
template <int R, int C>
EF_AVX2 void dot_tile(const float* a1, int lda1, int k1, const float* w1, const float* a2, int lda2,
                      int k2, const float* w2, int ldw, const float* bias, bool relu, float* out,
                      int ld_out) {
  __m256 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  auto run = [&](const float* a, int lda, const float* w, int k) EF_AVX2_LAMBDA {
    int x = 0;
    for (; x + 8 <= k; x += 8) {
      __m256 wv[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) wv[c] = _mm256_loadu_ps(w + size_t(c) * ldw + x);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_loadu_ps(a + size_t(r) * lda + x);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(av, wv[c], acc[r][c]);
      }
    }
    if (x < k) {
      const __m256i m = tail_mask(k - x);
      __m256 wv[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) wv[c] = _mm256_maskload_ps(w + size_t(c) * ldw + x, m);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_maskload_ps(a + size_t(r) * lda + x, m);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(av, wv[c], acc[r][c]);
      }
    }
  };
  run(a1, lda1, w1, k1);
  if (k2 > 0) run(a2, lda2, w2, k2);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const float v = hsum(acc[r][c]) + bias[c];
      out[size_t(r) * ld_out + c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
}

template <int C>
EF_AVX2 void dot_rows(int rows, const float* a1, int lda1, int k1, const float* w1,
                      const float* a2, int lda2, int k2, const float* w2, int ldw,
                      const float* bias, bool relu, float* out, int ld_out) {
  int i = 0;
  for (; i + 4 <= rows; i += 4)
    dot_tile<4, C>(a1 + size_t(i) * lda1, lda1, k1, w1, k2 > 0 ? a2 + size_t(i) * lda2 : nullptr,
                   lda2, k2, w2, ldw, bias, relu, out + size_t(i) * ld_out, ld_out);
  for (; i < rows; ++i)
    dot_tile<1, C>(a1 + size_t(i) * lda1, lda1, k1, w1, k2 > 0 ? a2 + size_t(i) * lda2 : nullptr,
                   lda2, k2, w2, ldw, bias, relu, out + size_t(i) * ld_out, ld_out);
}

EF_AVX2 void run_dots(int rows, int n, const float* a1, int lda1, int k1, const float* w1,
                      const float* a2, int lda2, int k2, const float* w2, int ldw,
                      const float* bias, bool relu, float* out, int ld_out) {
  if (n == 1) dot_rows<1>(rows, a1, lda1, k1, w1, a2, lda2, k2, w2, ldw, bias, relu, out, ld_out);
  if (n == 2) dot_rows<2>(rows, a1, lda1, k1, w1, a2, lda2, k2, w2, ldw, bias, relu, out, ld_out);
  if (n == 3) dot_rows<3>(rows, a1, lda1, k1, w1, a2, lda2, k2, w2, ldw, bias, relu, out, ld_out);
}

// Packs W1 / W2 (n rows) into panels of NR columns and the bias into NR-padded rows.
void pack(int n, int NR, const float* w1, int k1, const float* w2, int k2, int ldw,
          const float* bias, std::vector<float>& buf) {
  const int panels = (n + NR - 1) / NR, K = k1 + k2;
  buf.assign(size_t(panels) * NR * (K + 1), 0.f);
  float* wp = buf.data();
  float* bp = wp + size_t(panels) * K * NR;
  for (int p = 0; p < panels; ++p) {
    float* dst = wp + size_t(p) * K * NR;
    for (int jj = 0; jj < NR && p * NR + jj < n; ++jj) {
      const int j = p * NR + jj;
      const float* s1 = w1 + size_t(j) * ldw;
      for (int k = 0; k < k1; ++k) dst[size_t(k) * NR + jj] = s1[k];
      if (k2 > 0) {
        const float* s2 = w2 + size_t(j) * ldw;
        for (int k = 0; k < k2; ++k) dst[size_t(k1 + k) * NR + jj] = s2[k];
      }
      bp[size_t(p) * NR + jj] = bias[j];
    }
  }
}

}  // namespace

// Columns: 16-wide panels (6 x 16 tiles), then what is left: 9-15 columns in one more padded
// 16-wide panel, 4-8 in an 8-wide one (12 x 8 tiles), 1-3 as dot products. The split depends on
// n only, so a column's kernel (and its bits) is fixed by the layer's shape.
void DenseF32::pack(int n, const float* w1, int k1, const float* w2, int k2, int ldw,
                    const float* bias) {
  if (k2 <= 0) k2 = 0, w2 = nullptr;
  n_ = n, k1_ = k1, k2_ = k2, ldw_ = ldw;
  n16_ = n / 16 * 16;
  int rem = n - n16_;
  if (rem >= 9) n16_ = n, rem = 0;
  const size_t c0 = size_t(n16_);
  p16_.clear();
  p8_.clear();
  w1_ = w2_ = bias_ = nullptr;
  if (n16_ > 0) ef::pack(n16_, 16, w1, k1, w2, k2, ldw, bias, p16_);
  if (rem >= 4) {
    ef::pack(rem, 8, w1 + c0 * ldw, k1, w2 ? w2 + c0 * ldw : nullptr, k2, ldw, bias + c0, p8_);
  } else if (rem > 0) {  // dot products read the weights in place
    w1_ = w1 + c0 * ldw;
    w2_ = w2 ? w2 + c0 * ldw : nullptr;
    bias_ = bias + c0;
  }
}

void DenseF32::run(int rows, const float* a1, int lda1, const float* a2, int lda2, bool relu,
                   float* out, int ld_out) const {
  if (rows <= 0 || n_ <= 0) return;
  const int K = k1_ + k2_, rem = n_ - n16_;
  if (k2_ == 0) a2 = nullptr;
  if (n16_ > 0) {
    const float* w = p16_.data();
    run_panels<2>(rows, n16_, a1, lda1, k1_, a2, lda2, k2_, w,
                  w + size_t((n16_ + 15) / 16) * 16 * K, relu, out, ld_out);
  }
  if (rem >= 4) {
    const float* w = p8_.data();
    run_panels<1>(rows, rem, a1, lda1, k1_, a2, lda2, k2_, w, w + size_t(8) * K, relu,
                  out + n16_, ld_out);
  } else if (rem > 0) {
    run_dots(rows, rem, a1, lda1, k1_, w1_, a2, lda2, k2_, w2_, ldw_, bias_, relu, out + n16_,
             ld_out);
  }
}

void dense_f32(int rows, int n, const float* a1, int lda1, int k1, const float* w1,
               const float* a2, int lda2, int k2, const float* w2, int ldw, const float* bias,
               bool relu, float* out, int ld_out) {
  thread_local DenseF32 d;
  d.pack(n, w1, k1, w2, k2, ldw, bias);
  d.run(rows, a1, lda1, a2, lda2, relu, out, ld_out);
}

#else

bool dense_f32_available() { return false; }
void DenseF32::pack(int, const float*, int, const float*, int, int, const float*) {}
void DenseF32::run(int, const float*, int, const float*, int, bool, float*, int) const {}
void dense_f32(int, int, const float*, int, int, const float*, const float*, int, int,
               const float*, int, const float*, bool, float*, int) {}

#endif

}  // namespace ef
