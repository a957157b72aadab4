// GPU micro-benchmark: one masked dense layer (hidden -> hidden, ReLU) of the conditioner MLPs,
// forward and backward through kernels/masked_linear, against raw cuBLAS sgemm at the same sizes
// (the floor those launchers can reach: the gap is the bias/activation, mask and column-sum
// kernels). Timed with CUDA events on one stream after a warm-up; fp32, cuBLAS default math
// (no TF32). PyTorch comparisons are out of scope here (see bench/ for the peer baselines).
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

#include "kernels/cuda_check.cuh"
#include "kernels/gather.cuh"
#include "kernels/masked_linear.cuh"
#include "kernels/rng.cuh"

namespace k = ef::kernels;

namespace {

struct Buf {
  float* p = nullptr;
  explicit Buf(size_t n) { EF_CUDA_CHECK(cudaMalloc(&p, n * sizeof(float))); }
  ~Buf() { cudaFree(p); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
};

// Mean milliseconds per call of f over `iters` calls, after 5 warm-up calls.
double time_ms(cudaStream_t s, int iters, const std::function<void()>& f) {
  for (int i = 0; i < 5; ++i) f();
  cudaEvent_t a, b;
  EF_CUDA_CHECK(cudaEventCreate(&a));
  EF_CUDA_CHECK(cudaEventCreate(&b));
  EF_CUDA_CHECK(cudaEventRecord(a, s));
  for (int i = 0; i < iters; ++i) f();
  EF_CUDA_CHECK(cudaEventRecord(b, s));
  EF_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  EF_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  EF_CUDA_CHECK(cudaEventDestroy(a));
  EF_CUDA_CHECK(cudaEventDestroy(b));
  return double(ms) / iters;
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    p = std::strchr(p, ',');
    if (!p) break;
    ++p;
  }
  return v;
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
  cudaStream_t s;
  EF_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cublasHandle_t h;
  EF_CUBLAS_CHECK(cublasCreate(&h));
  EF_CUBLAS_CHECK(cublasSetStream(h, s));

  std::printf("# ef_gpu_bench on %s: masked linear %dx%d (ReLU), fp32, %d iters/point\n",
              prop.name, H, H, iters);
  std::printf("%8s %10s %10s %7s %10s %10s %7s %9s %9s\n", "batch", "fwd_ms", "sgemm_ms",
              "fwd/gm", "bwd_ms", "2sgemm_ms", "bwd/gm", "fwd_TF/s", "bwd_TF/s");
  for (int B : batches) {
    const size_t nx = size_t(B) * H, nw = size_t(H) * H;
    Buf X(nx), Y(nx), dZ(nx), dX(nx), W(nw), mask(nw), dW(nw), b(H), db(H),
        ws(k::masked_linear_backward_workspace(B, H));
    k::fill_normal_cuda(X.p, nx, 1, 0, 0, s);
    k::fill_normal_cuda(dZ.p, nx, 1, 1, 0, s);
    k::fill_normal_cuda(W.p, nw, 1, 2, 0, s);
    k::fill_normal_cuda(b.p, H, 1, 3, 0, s);
    k::fill_cuda(mask.p, nw, 1.f, s);
    k::fill_cuda(dW.p, nw, 0.f, s);
    k::fill_cuda(db.p, H, 0.f, s);
    const float one = 1.f, zero = 0.f;
    const double fwd = time_ms(s, iters, [&] {
      k::masked_linear_forward_cuda(h, X.p, W.p, b.p, B, H, H, k::Act::ReLU, Y.p, s);
    });
    const double gemm = time_ms(s, iters, [&] {
      EF_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, H, B, H, &one, W.p, H, X.p, H,
                                  &zero, Y.p, H));
    });
    const double bwd = time_ms(s, iters, [&] {
      k::masked_linear_backward_cuda(h, X.p, W.p, mask.p, dZ.p, B, H, H, k::Act::ReLU, dW.p, db.p,
                                     dX.p, ws.p, s);
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
  cudaStreamDestroy(s);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ef_gpu_bench: %s\n", e.what());
  return 1;
}
