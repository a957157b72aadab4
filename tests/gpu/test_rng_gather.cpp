// rng and gather kernels: the counter-based draws equal JointModel::sample's, row gathers and
// [x | ctx] packing equal engine/conditioner_io.hpp.
#include <algorithm>
#include <numeric>
#include <vector>

#include "conditioner_io.hpp"
#include "gpu_util.hpp"
#include "kernels/gather.cuh"
#include "kernels/rng.cuh"

using efg::DeviceBuffer;
namespace k = ef::kernels;

TEST_CASE("rng: fill_normal / fill_uniform equal the CPU's counter-based draws") {
  efg::require_gpu();
  efg::GpuContext g;
  const uint64_t seed = efg::fresh_seed();
  CAPTURE(seed);
  const int B = 4001, D = 7;
  const uint64_t row_offset = 123457;
  // As JointModel::sample draws its base z: counter (row_offset + r) * D + i, stream 1.
  std::vector<float> ref(size_t(B) * D), refu(size_t(B) * D);
  for (int r = 0; r < B; ++r)
    for (int i = 0; i < D; ++i) {
      const uint64_t idx = (row_offset + uint64_t(r)) * D + i;
      ref[size_t(r) * D + i] = float(ef::math::rand_normal(seed, 1, idx));
      refu[size_t(r) * D + i] = float(ef::math::rand_uniform(seed, 1, idx));
    }
  DeviceBuffer<float> dz(ref.size()), du(refu.size());
  k::fill_normal_cuda(dz.get(), ref.size(), seed, 1, row_offset * D, g.stream);
  k::fill_uniform_cuda(du.get(), refu.size(), seed, 1, row_offset * D, g.stream);
  g.sync();
  const auto z = dz.download(), u = du.download();
  size_t exact = 0;
  for (size_t i = 0; i < z.size(); ++i) exact += z[i] == ref[i];
  MESSAGE("rand_normal: ", exact, " of ", z.size(), " bit-identical to the CPU");
  efg::check_close(z, ref, "normal", 1e-6, 1e-7);
  CHECK(u == refu);  // integer mixing then one multiply: exact
}

TEST_CASE("gather: rows by index, bad indices give NaN rows") {
  efg::require_gpu();
  efg::GpuContext g;
  const uint64_t seed = efg::fresh_seed();
  CAPTURE(seed);
  const size_t N = 1000;
  const int width = 7;
  auto src = efg::randn(N * width, seed);
  std::vector<int64_t> idx(N);
  std::iota(idx.begin(), idx.end(), 0);
  for (size_t i = N - 1; i > 0; --i)  // Fisher-Yates with the counter RNG
    std::swap(idx[i], idx[size_t(ef::math::rand_uniform(seed, 2, i) * double(i + 1))]);
  idx.push_back(-1);
  idx.push_back(int64_t(N));
  DeviceBuffer<float> dsrc(src), ddst(idx.size() * width);
  DeviceBuffer<int64_t> didx(idx);
  k::gather_rows_cuda(dsrc.get(), N, width, didx.get(), idx.size(), ddst.get(), g.stream);
  g.sync();
  const auto dst = ddst.download();
  size_t wrong = 0;
  for (size_t r = 0; r < N; ++r)
    for (int j = 0; j < width; ++j) wrong += dst[r * width + j] != src[size_t(idx[r]) * width + j];
  CHECK(wrong == 0);
  for (size_t r = N; r < idx.size(); ++r)
    for (int j = 0; j < width; ++j) CHECK(std::isnan(dst[r * width + j]));
}

TEST_CASE("gather: pack_input / unpack_grad / fill match conditioner_io.hpp") {
  efg::require_gpu();
  efg::GpuContext g;
  for (int C : {0, 5}) {
    const uint64_t seed = efg::fresh_seed();
    CAPTURE(seed);
    CAPTURE(C);
    const int B = 513, D = 6, W = D + C;
    auto x = efg::randn(size_t(B) * D, seed), ctx = efg::randn(size_t(B) * C, seed + 1);
    auto din = efg::randn(size_t(B) * W, seed + 2);
    auto dx0 = efg::randn(size_t(B) * D, seed + 3), dctx0 = efg::randn(size_t(B) * C, seed + 4);
    std::vector<float> in, dx = dx0, dctx = dctx0;
    ef::pack_input(x.data(), C ? ctx.data() : nullptr, B, D, C, in);
    ef::unpack_grad(din, B, D, C, dx.data(), C ? dctx.data() : nullptr);

    DeviceBuffer<float> dxin(x), dctxin(C ? ctx : std::vector<float>(1)), din_d(din),
        dpacked(size_t(B) * W), ddx(dx0), ddctx(C ? dctx0 : std::vector<float>(1));
    k::pack_input_cuda(dxin.get(), C ? dctxin.get() : nullptr, B, D, C, dpacked.get(), g.stream);
    k::unpack_grad_cuda(din_d.get(), B, D, C, ddx.get(), C ? ddctx.get() : nullptr, g.stream);
    g.sync();
    CHECK(dpacked.download() == in);
    CHECK(ddx.download() == dx);
    if (C) CHECK(ddctx.download() == dctx);
  }
  DeviceBuffer<float> f(1001);
  k::fill_cuda(f.get(), f.size(), -0.25f, g.stream);
  g.sync();
  CHECK(f.download() == std::vector<float>(1001, -0.25f));
}
