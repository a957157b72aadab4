// GPU micro-benchmark: one masked dense layer (hidden -> hidden, ReLU) of the conditioner MLPs
// as the CUDA backend runs it when the fused kernels do not apply (engine/device_backend_impl.hpp
// mlp_forward / mlp_backward on the CUDA executor): forward BiasRows + GEMM + Activate, backward
// the weight GEMM + MaskMul + colsum_add + the input GEMM + ActBackward, against raw cuBLAS
// sgemm at the same sizes (the floor of that path: the gap is the element-wise ops and the
// column sums). Timed with CUDA events on the executor's stream after a warm-up; fp32, cuBLAS
// default math (no TF32). PyTorch comparisons are out of scope here (see bench/ for the peers).
//
// usage: ef_gpu_bench [--hidden N] [--iters N] [--batches 512,2048,...]
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
#include "kernels/ops/mlp_ops.hpp"

namespace ops = ef::ops;

namespace {

using Buf = efbench::DeviceFloats;
using efbench::parse_list;

double time_ms(cudaStream_t s, int iters, const std::function<void()>& f) {
  return efbench::time_ms(s, iters, f, 5);  // warm-up calls
}

}  // namespace

int main(int argc, char** argv) try {
  int H = 128, iters = 200;
  std::vector<int> batches{512, 2048, 8192, 32768, 65536};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--hidden") H = std::atoi(argv[i + 1]);
    else if (a == "--iters") iters = std::atoi(argv[i + 1]);
    else if (a == "--batches") batches = parse_list(argv[i + 1]);
    else EF_THROW("unknown option ", a);
  }
  EF_CHECK(H > 0 && iters > 0 && !batches.empty(), "bad options");
  cudaDeviceProp prop{};
  EF_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  ef::CudaExec ex;
  const cudaStream_t s = ex.stream();
  cublasHandle_t h;  // the raw sgemm floor, on the executor's stream
  EF_CUBLAS_CHECK(cublasCreate(&h));
  EF_CUBLAS_CHECK(cublasSetStream(h, s));

  std::printf("# ef_gpu_bench on %s: masked linear %dx%d (ReLU), fp32, %d iters/point\n",
              prop.name, H, H, iters);
  std::printf("%8s %10s %10s %7s %10s %10s %7s %9s %9s\n", "batch", "fwd_ms", "sgemm_ms",
              "fwd/gm", "bwd_ms", "2sgemm_ms", "bwd/gm", "fwd_TF/s", "bwd_TF/s");
  for (int B : batches) {
    const size_t nx = size_t(B) * H, nw = size_t(H) * H;
    Buf X(nx), Y(nx), dZ(nx), dX(nx), W(nw), mask(nw), dW(nw), b(H), db(H);
    ex.reserve(B, H);  // the column sums' scratch, as the backend reserves it
    ex.for_each(nx, ops::FillNormal{X.p, 1, 0, 0});
    ex.for_each(nx, ops::FillNormal{dZ.p, 1, 1, 0});
    ex.for_each(nw, ops::FillNormal{W.p, 1, 2, 0});
    ex.for_each(size_t(H), ops::FillNormal{b.p, 1, 3, 0});
    ex.for_each(nw, ops::Fill<float>{mask.p, 1.f});
    ex.for_each(nw, ops::Fill<float>{dW.p, 0.f});
    ex.for_each(size_t(H), ops::Fill<float>{db.p, 0.f});
    const float one = 1.f, zero = 0.f;
    const double fwd = time_ms(s, iters, [&] {
      ex.for_each(nx, ops::BiasRows{Y.p, b.p, H});
      ex.gemm(false, true, B, H, H, 1.f, X.p, H, W.p, H, 1.f, Y.p, H);
      ex.for_each(nx, ops::Activate{Y.p, ops::Act::ReLU});
    });
    const double gemm = time_ms(s, iters, [&] {
      EF_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, H, B, H, &one, W.p, H, X.p, H,
                                  &zero, Y.p, H));
    });
    const double bwd = time_ms(s, iters, [&] {
      ex.gemm(true, false, H, H, B, 1.f, dZ.p, H, X.p, H, 1.f, dW.p, H);
      ex.for_each(nw, ops::MaskMul{dW.p, mask.p});
      ex.colsum_add(dZ.p, B, H, db.p);
      ex.gemm(false, false, B, H, H, 1.f, dZ.p, H, W.p, H, 0.f, dX.p, H);
      ex.for_each(nx, ops::ActBackward{dX.p, X.p, ops::Act::ReLU});
    });
    const double gemm2 = time_ms(s, iters, [&] {
      EF_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, H, H, B, &one, X.p, H, dZ.p, H,
                                  &one, dW.p, H));
      EF_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, H, B, H, &one, W.p, H, dZ.p, H,
                                  &zero, dX.p, H));
    });
    const double flop = 2.0 * B * H * H;
    std::printf("%8d %10.4f %10.4f %7.2f %10.4f %10.4f %7.2f %9.2f %9.2f\n", B, fwd, gemm,
                fwd / gemm, bwd, gemm2, bwd / gemm2, flop / (fwd * 1e9), 2 * flop / (bwd * 1e9));
  }
  EF_CUDA_CHECK(cudaStreamSynchronize(s));
  cublasDestroy(h);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ef_gpu_bench: %s\n", e.what());
  return 1;
}
