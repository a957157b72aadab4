// dense_f32 (the float forward product of the CPU conditioners): against a double reference on
// every edge of its tiling (rows, columns and both sources' widths not multiples of the tiles),
// and a row's bits independent of the rows around it in the call (what makes the forward passes
// independent of thread count, tile and chunk size).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "dense_f32.hpp"
#include "test_util.hpp"

namespace {
std::vector<float> randf(size_t n, uint64_t seed) {
  const auto d = eft::randn(n, seed);
  return std::vector<float>(d.begin(), d.end());
}

// out = act(bias + A1 W1^T + A2 W2^T) in double, W1 = W[:, :k1], W2 = W[:, off2 : off2 + k2].
std::vector<double> reference(int rows, int n, const std::vector<float>& A1, int k1,
                              const std::vector<float>& A2, int k2, const std::vector<float>& W,
                              int ldw, int off2, const std::vector<float>& b, bool relu) {
  std::vector<double> y(size_t(rows) * n);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < n; ++j) {
      double s = b[j];
      for (int k = 0; k < k1; ++k) s += double(A1[size_t(i) * k1 + k]) * W[size_t(j) * ldw + k];
      for (int k = 0; k < k2; ++k)
        s += double(A2[size_t(i) * k2 + k]) * W[size_t(j) * ldw + off2 + k];
      y[size_t(i) * n + j] = relu && s < 0 ? 0.0 : s;
    }
  return y;
}
}  // namespace

TEST_CASE("dense_f32 matches a double reference on every tile edge") {
  if (!ef::dense_f32_available()) {
    MESSAGE("no AVX2 + FMA: the CPU forward uses OpenBLAS, dense_f32 is not called");
    return;
  }
  int checked = 0;
  for (int rows : {1, 5, 6, 7, 12, 13, 31})
    for (int n : {1, 2, 3, 4, 7, 8, 9, 16, 17, 24, 25, 40})
      for (auto [k1, k2] : {std::pair{0, 5}, {1, 0}, {4, 0}, {8, 3}, {13, 0}, {37, 19}, {128, 0}}) {
        const int ldw = k1 + k2 + 3, off2 = k1 + 2;  // W1 and W2 as column ranges of one W
        const auto A1 = randf(size_t(rows) * k1, 1 + rows), A2 = randf(size_t(rows) * k2, 2 + n);
        const auto W = randf(size_t(n) * ldw, 3 + k1), b = randf(size_t(n), 4 + k2);
        for (bool relu : {false, true}) {
          const int ld_out = n + 2;  // a strided output: the padding must stay untouched
          std::vector<float> out(size_t(rows) * ld_out, 7.f);
          ef::dense_f32(rows, n, A1.data(), k1, k1, W.data(), A2.data(), k2, k2, W.data() + off2,
                        ldw, b.data(), relu, out.data(), ld_out);
          const auto ref = reference(rows, n, A1, k1, A2, k2, W, ldw, off2, b, relu);
          for (int i = 0; i < rows; ++i) {
            for (int j = 0; j < n; ++j) {
              const double r = ref[size_t(i) * n + j];
              REQUIRE(std::fabs(out[size_t(i) * ld_out + j] - r) <= 1e-5 * (k1 + k2 + 1) * (1 + std::fabs(r)));
            }
            REQUIRE(out[size_t(i) * ld_out + n] == 7.f);
            REQUIRE(out[size_t(i) * ld_out + n + 1] == 7.f);
          }
          ++checked;
        }
      }
  CHECK(checked == 7 * 12 * 7 * 2);
}

TEST_CASE("dense_f32: a row's bits do not depend on the other rows of the call") {
  if (!ef::dense_f32_available()) return;
  const int rows = 53, k1 = 40, k2 = 9, ldw = k1 + k2;
  for (int n : {2, 8, 30, 128}) {
    const auto A1 = randf(size_t(rows) * k1, 5), A2 = randf(size_t(rows) * k2, 6);
    const auto W = randf(size_t(n) * ldw, 7), b = randf(n, 9);
    std::vector<float> all(size_t(rows) * n), part(size_t(rows) * n);
    ef::dense_f32(rows, n, A1.data(), k1, k1, W.data(), A2.data(), k2, k2, W.data() + k1, ldw,
                  b.data(), true, all.data(), n);
    // Rows [s, rows) in one call: every row lands in another place of the tiles (and in the
    // smaller tail tile), and must give the same bits.
    for (int s : {1, 5, 11, 52}) {
      std::fill(part.begin(), part.end(), 0.f);
      ef::dense_f32(rows - s, n, A1.data() + size_t(s) * k1, k1, k1, W.data(),
                    A2.data() + size_t(s) * k2, k2, k2, W.data() + k1, ldw, b.data(), true,
                    part.data() + size_t(s) * n, n);
      CHECK(std::memcmp(part.data() + size_t(s) * n, all.data() + size_t(s) * n,
                        size_t(rows - s) * n * sizeof(float)) == 0);
    }
    CHECK(std::any_of(all.begin(), all.end(), [](float v) { return v != 0.f; }));
  }
}

TEST_CASE("dense_f32: ReLU maps NaN to 0 as the OpenBLAS path's (x > 0 ? x : 0) does") {
  if (!ef::dense_f32_available()) return;
  for (int n : {1, 8, 16}) {
    const int k = 3;
    std::vector<float> A{std::numeric_limits<float>::quiet_NaN(), 1.f, 2.f};
    std::vector<float> W(size_t(n) * k, 1.f), b(n, 0.f), out(n, 5.f);
    ef::dense_f32(1, n, A.data(), k, k, W.data(), nullptr, 0, 0, nullptr, k, b.data(), true,
                  out.data(), n);
    for (float v : out) CHECK(v == 0.f);
  }
}
