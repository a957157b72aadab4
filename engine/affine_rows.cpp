#include "affine_rows.hpp"

#include <cstddef>

#include "flow_math.hpp"

namespace ef {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EF_AFFINE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define EF_AFFINE_CLONES
#endif

EF_AFFINE_CLONES
void maf_forward_rows(const float* h, const float* x, int B, int D, float clamp, float* z, float* alpha) {
  for (int r = 0; r < B; ++r) {
    const float* hr = h + size_t(r) * 2 * D;
    const float* xr = x + size_t(r) * D;
    float* zr = z + size_t(r) * D;
    float* ar = alpha + size_t(r) * D;
    EF_SIMD
    for (int i = 0; i < D; ++i) {
      const float a = math::soft_clamp(hr[D + i], clamp);
      zr[i] = math::maf_forward(xr[i], hr[i], a);
      ar[i] = a;
    }
  }
}

EF_AFFINE_CLONES
void coupling_forward_rows(const float* h, const float* x, int B, int n, float clamp, float* z, float* s) {
  for (int r = 0; r < B; ++r) {
    const float* hr = h + size_t(r) * 2 * n;
    const float* xr = x + size_t(r) * n;
    float* zr = z + size_t(r) * n;
    float* sr = s + size_t(r) * n;
    EF_SIMD
    for (int k = 0; k < n; ++k) {
      const float sk = math::soft_clamp(hr[n + k], clamp);
      zr[k] = math::coupling_forward(xr[k], sk, hr[k]);
      sr[k] = sk;
    }
  }
}

}  // namespace ef
