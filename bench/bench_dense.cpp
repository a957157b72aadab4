// The conditioners' forward product on one thread: engine/dense_f32 against what the forward
// did before it (bias rows copied, OpenBLAS sgemm NoTrans/Trans with beta = 1, a ReLU pass), on
// the shapes of the E2E flows' layers and of the incremental MADE inverse's blocks.
//   bench_dense [--seconds 0.3]
// Prints GFLOP/s of both per shape (thread CPU time, so a loaded machine's waiting is not
// counted) and the largest difference between the two results.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "blas.hpp"
#include "dense_f32.hpp"
#include "flow_math.hpp"

namespace {

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Repeats f until `seconds` of thread CPU time have passed; returns seconds per call.
template <class F>
double per_call(double seconds, const F& f) {
  f();  // warm-up
  long n = 0;
  const double t0 = thread_seconds();
  double t = t0;
  do {
    f();
    ++n;
    t = thread_seconds();
  } while (t - t0 < seconds);
  return (t - t0) / double(n);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  CLI::App app{"bench_dense: dense_f32 against OpenBLAS on the flows' layer shapes"};
  app.add_option("--seconds", seconds, "CPU seconds per measurement");
  CLI11_PARSE(app, argc, argv);
  if (!ef::dense_f32_available()) {
    std::printf("no AVX2 + FMA on this CPU: the engine uses OpenBLAS, nothing to compare\n");
    return 0;
  }
  ef::set_num_threads(1);
  struct Shape {
    int m, n, k;
    const char* what;
  };
  const Shape shapes[] = {
      {256, 128, 4, "RealNVP D8 first layer"},       {256, 128, 8, "MAF D8 first layer"},
      {256, 128, 32, "RealNVP D64 first layer"},     {256, 128, 128, "hidden layer"},
      {256, 8, 128, "RealNVP D8 last layer"},        {256, 16, 128, "MAF D8 last layer"},
      {256, 128, 128, "RealNVP D64 last layer"},     {256, 18, 64, "MADE inverse unit block"},
      {256, 9, 64, "MADE inverse unit block, D16"}, {256, 1, 96, "MADE inverse output"},
      {256, 2, 96, "MADE inverse unit block, D64"}};
  std::printf("%-32s %5s %5s %5s %10s %10s %10s\n", "shape", "M", "N", "K", "OpenBLAS", "dense_f32",
              "max |diff|");
  for (const Shape& s : shapes) {
    std::vector<float> A(size_t(s.m) * s.k), W(size_t(s.n) * s.k), b(s.n), y0(size_t(s.m) * s.n),
        y1(y0.size());
    for (size_t i = 0; i < A.size(); ++i) A[i] = float(ef::math::rand_normal(1, 0, i));
    for (size_t i = 0; i < W.size(); ++i) W[i] = float(ef::math::rand_normal(2, 0, i)) / 8.f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = float(ef::math::rand_normal(3, 0, i));
    auto blas = [&] {
      for (int r = 0; r < s.m; ++r) std::copy(b.begin(), b.end(), y0.begin() + size_t(r) * s.n);
      ef::gemm(false, true, s.m, s.n, s.k, 1.f, A.data(), s.k, W.data(), s.k, 1.f, y0.data(), s.n);
      for (float& v : y0) v = v > 0.f ? v : 0.f;
    };
    ef::DenseF32 pack;  // packed once, as a forward pass does for all its row tiles
    pack.pack(s.n, W.data(), s.k, nullptr, 0, s.k, b.data());
    auto dense = [&] { pack.run(s.m, A.data(), s.k, nullptr, 0, true, y1.data(), s.n); };
    const double flops = 2.0 * s.m * s.n * s.k;
    const double tb = per_call(seconds, blas), td = per_call(seconds, dense);
    double diff = 0;
    for (size_t i = 0; i < y0.size(); ++i) diff = std::max(diff, double(std::fabs(y0[i] - y1[i])));
    std::printf("%-32s %5d %5d %5d %9.1f  %9.1f  %10.2g\n", s.what, s.m, s.n, s.k, flops / tb / 1e9,
                flops / td / 1e9, diff);
  }
  std::printf("(GFLOP/s on one thread; OpenBLAS includes the bias copy and the ReLU pass it needs)\n");
  return 0;
}
