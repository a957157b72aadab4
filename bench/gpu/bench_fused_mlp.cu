// The conditioner matmuls at large batch (>= 65536 rows): one MLP [n0, H, H, nout] forward and
// its data-gradient backward through the fused tile kernels (kernels/fused_mlp.cu) against
// cuBLAS sgemm chains of the same products (the floor of the per-layer path, without its bias,
// activation and mask kernels), and the cuBLAS rate of a square H x H sgemm at that batch.
// CUDA events on one stream after a warm-up; fp32 (cuBLAS default math, no TF32).
// Output: "RESULT kind=matmul ..." lines (bench/gpu/summary.py), FLOPs per row included.
//
// usage: ef_gpu_fused_bench [--batches 65536,262144] [--iters 50]
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.cuh"
#include "kernels/cuda_exec.cuh"
#include "kernels/ops/data_ops.hpp"

namespace {

using Buf = efbench::DeviceFloats;
using efbench::parse_list;

double time_ms(cudaStream_t s, int iters, const std::function<void()>& f) {
  return efbench::time_ms(s, iters, f, 3);  // warm-up calls
}

void result(const char* shape, int B, const char* impl, double ms, double flop_row) {
  const double rows_s = B / (ms * 1e-3);
  std::printf("RESULT kind=matmul flow=%s D=0 batch=%d impl=%s rows_s=%.6g flop_row=%.6g "
              "tflops=%.4g\n",
              shape, B, impl, rows_s, flop_row, rows_s * flop_row * 1e-12);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<int> batches{65536, 262144};
  int iters = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--batches") batches = parse_list(argv[i + 1]);
    else if (a == "--iters") iters = std::atoi(argv[i + 1]);
    else EF_THROW("unknown option ", a);
  }
  ef::CudaExec ex;
  const cudaStream_t s = ex.stream();
  std::printf("# ef_gpu_fused_bench: fused MLP vs cuBLAS sgemm chains, fp32, %d iters\n", iters);
  // MAF conditioners of D = 16 and 64 (hidden 128) and a width-256 one.
  const std::vector<std::vector<int>> shapes = {{16, 128, 128, 32}, {64, 128, 128, 128},
                                                {64, 256, 256, 128}};
  for (const auto& sz : shapes) {
    const int L = int(sz.size()) - 1;
    int maxw = 0;
    size_t nparam = 0;
    double flop = 0;
    for (int l = 0; l < L; ++l) {
      nparam += size_t(sz[l]) * sz[l + 1] + sz[l + 1];
      flop += 2.0 * sz[l] * sz[l + 1];
    }
    for (int w : sz) maxw = std::max(maxw, w);
    const std::string name = "mlp" + std::to_string(sz[0]) + "-" + std::to_string(sz[1]) + "-" +
                             std::to_string(sz[2]) + "-" + std::to_string(sz[3]);
    Buf P(nparam);
    ex.for_each(nparam, ef::ops::FillNormal{P.p, 1, 9, 0});
    for (int B : batches) {
      Buf X(size_t(B) * sz[0]), Y(size_t(B) * sz[L]), dX(size_t(B) * sz[0]);
      std::vector<Buf*> H, dZ;
      for (int l = 0; l <= L; ++l) H.push_back(new Buf(size_t(B) * maxw));
      for (int l = 0; l < L; ++l) dZ.push_back(new Buf(size_t(B) * maxw));
      ex.for_each(size_t(B) * sz[0], ef::ops::FillNormal{X.p, 1, 1, 0});
      ex.for_each(size_t(B) * sz[L], ef::ops::FillNormal{Y.p, 1, 2, 0});
      ef::ops::FusedMlp m;
      m.L = L;
      m.max_width = maxw;
      size_t off = 0;
      for (int l = 0; l <= L; ++l) m.sizes[l] = sz[l];
      for (int l = 0; l < L; ++l) {
        m.W[l] = P.p + off;
        off += size_t(sz[l]) * sz[l + 1];
        m.b[l] = P.p + off;
        off += sz[l + 1];
        if (l > 0) m.h[l] = H[l]->p;
      }
      float* dz[ef::ops::kFusedMaxLayers] = {};
      for (int l = 0; l + 1 < L; ++l) dz[l] = dZ[l]->p;
      const double f_fwd = time_ms(s, iters, [&] { ex.fused_mlp_forward(m, X.p, B, Y.p); });
      const double g_fwd = time_ms(s, iters, [&] {
        const float* in = X.p;
        for (int l = 0; l < L; ++l) {
          float* out = l == L - 1 ? Y.p : H[l + 1]->p;
          ex.gemm(false, true, B, sz[l + 1], sz[l], 1.f, in, sz[l], m.W[l], sz[l], 0.f, out,
                  sz[l + 1]);
          in = out;
        }
      });
      const double f_bwd =
          time_ms(s, iters, [&] { ex.fused_mlp_backward(m, Y.p, dz, dX.p, B); });
      const double g_bwd = time_ms(s, iters, [&] {
        const float* cur = Y.p;
        for (int l = L - 1; l >= 0; --l) {
          float* din = l == 0 ? dX.p : dZ[l - 1]->p;
          ex.gemm(false, false, B, sz[l], sz[l + 1], 1.f, cur, sz[l + 1], m.W[l], sz[l], 0.f, din,
                  sz[l]);
          cur = din;
        }
      });
      // The cuBLAS rate at this batch: a square H x H product.
      const int Hd = sz[1];
      const double sq = time_ms(s, iters, [&] {
        ex.gemm(false, true, B, Hd, Hd, 1.f, H[1]->p, Hd, m.W[1], Hd, 0.f, H[2]->p, Hd);
      });
      result(name.c_str(), B, "fused-fwd", f_fwd, flop);
      result(name.c_str(), B, "cublas-fwd", g_fwd, flop);
      result(name.c_str(), B, "fused-bwd-data", f_bwd, flop);
      result(name.c_str(), B, "cublas-bwd-data", g_bwd, flop);
      result(name.c_str(), B, "cublas-square", sq, 2.0 * Hd * Hd);
      for (Buf* b : H) delete b;
      for (Buf* b : dZ) delete b;
    }
  }
  EF_CUDA_CHECK(cudaStreamSynchronize(s));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ef_gpu_fused_bench: %s\n", e.what());
  return 1;
}
