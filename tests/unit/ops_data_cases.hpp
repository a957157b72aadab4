// Data-movement, random-fill, shuffle and optimizer ops (kernels/ops/data_ops.hpp) against their
// CPU references, run by an executor (tests/unit/ops_harness.hpp): PackInput / UnpackGrad ==
// engine/conditioner_io.hpp and CouplingSplit; FillNormal == the CPU's counter-based draws;
// ShuffleKeys + sort_pairs == shuffle_permutation (host/resident_schedule.hpp) and GatherBatch
// the rows it names; AdamAdvance + AdamUpdate == adam_step_cpu; WriteFeatures, CatPack,
// ScatterCols, RecordStep, Iota and Fill against their definitions.
#pragma once
#include <vector>

#include "../../kernels/ops/data_ops.hpp"
#include "adam.hpp"
#include "conditioner_io.hpp"
#include "coupling_split.hpp"
#include "ops_harness.hpp"
#include "resident_schedule.hpp"

namespace efo {

template <class Exec>
void check_pack_ops(Exec& ex) {
  for (int C : {0, 5}) {
    CAPTURE(C);
    const int B = 513, D = 6, W = D + C;
    const std::vector<float> x = randn(size_t(B) * D, 1), ctx = randn(size_t(B) * C, 2);
    const std::vector<float> din = randn(size_t(B) * W, 3), dx0 = randn(size_t(B) * D, 4);
    std::vector<float> in, dx = dx0;
    ef::pack_input(x.data(), C ? ctx.data() : nullptr, B, D, C, in);
    ef::unpack_grad(din, B, D, C, dx.data(), static_cast<float*>(nullptr));
    Buf<Exec, float> xd(ex, x), cd(ex, C ? ctx : std::vector<float>{0.f}), packed(ex, in.size()),
        dind(ex, din), dxd(ex, dx0);
    ex.for_each(in.size(), ef::ops::PackInput{xd.get(), D, nullptr, D, C ? cd.get() : nullptr, C,
                                              C, packed.get(), W});
    ex.for_each(size_t(B) * D, ef::ops::UnpackGrad{dind.get(), W, nullptr, D, dxd.get(), D});
    CHECK(packed.download() == in);
    CHECK(dxd.download() == dx);

    // A coupling's compact input [x_pass | ctx] and its gradient.
    const ef::CouplingSplit split({1, 0, 0, 1, 1, 0}, C);
    const int Wc = split.width(), nP = int(split.pass.size());
    std::vector<float> inc, dxc = dx0;
    split.pack(x.data(), C ? ctx.data() : nullptr, B, D, inc);
    const std::vector<float> dinc = randn(size_t(B) * Wc, 5);
    split.unpack_grad(dinc, B, D, dxc.data(), static_cast<float*>(nullptr));
    Buf<Exec, int> pass(ex, split.pass);
    Buf<Exec, float> packc(ex, inc.size()), dincd(ex, dinc), dxcd(ex, dx0);
    ex.for_each(inc.size(), ef::ops::PackInput{xd.get(), D, pass.get(), nP,
                                               C ? cd.get() : nullptr, C, C, packc.get(), Wc});
    ex.for_each(size_t(B) * nP, ef::ops::UnpackGrad{dincd.get(), Wc, pass.get(), nP, dxcd.get(), D});
    CHECK(packc.download() == inc);
    CHECK(dxcd.download() == dxc);
  }
}

template <class Exec>
void check_random_and_shuffle_ops(Exec& ex, const Tol& tol) {
  // The base draws of rows [row_offset, row_offset + B) of D dims: counter row * D + i.
  const int B = 4001, D = 7;
  const uint64_t seed = 12345, stream = 201, row_offset = 123457;
  std::vector<float> ref(size_t(B) * D);
  for (size_t i = 0; i < ref.size(); ++i)
    ref[i] = float(ef::math::rand_normal(seed, stream, row_offset * D + i));
  Buf<Exec, float> z(ex, ref.size());
  ex.for_each(ref.size(), ef::ops::FillNormal{z.get(), seed, stream, row_offset * D});
  check_close(z.download(), ref, "normal draws", tol.r(1e-7), tol.r(1e-8));

  // A device shuffle: keys, a stable sort, and the batches it gathers.
  const int N = 1000, width = 3;
  for (uint64_t epoch : {1, 2}) {
    CAPTURE(epoch);
    Buf<Exec, uint64_t> keys(ex, size_t(N)), sorted(ex, size_t(N));
    Buf<Exec, int> vals(ex, size_t(N)), perm(ex, size_t(N));
    ex.for_each(size_t(N), ef::ops::ShuffleKeys{keys.get(), vals.get(), 9,
                                                ef::kShuffleStreamBase + epoch});
    ex.sort_pairs(keys.get(), vals.get(), sorted.get(), perm.get(), N);
    const std::vector<int> want = ef::shuffle_permutation(N, 9, epoch);
    REQUIRE(perm.download() == want);
    const std::vector<float> src = randn(size_t(N) * width, 20 + epoch);
    const int start = 128, Bg = 64;
    Buf<Exec, float> srcd(ex, src), dst(ex, size_t(Bg) * width);
    Buf<Exec, int> st(ex, std::vector<int>{start});
    ex.for_each(size_t(Bg) * width,
                ef::ops::GatherBatch<float>{srcd.get(), width, perm.get(), st.get(), dst.get()});
    std::vector<float> g;
    for (int r = 0; r < Bg; ++r)
      for (int j = 0; j < width; ++j) g.push_back(src[size_t(want[size_t(start + r)]) * width + j]);
    CHECK(dst.download() == g);
  }
  Buf<Exec, int> iota(ex, 77);
  ex.for_each(77, ef::ops::Iota{iota.get()});
  std::vector<int> w(77);
  for (int i = 0; i < 77; ++i) w[size_t(i)] = i;
  CHECK(iota.download() == w);
  Buf<Exec, float> f(ex, 1001);
  ex.for_each(1001, ef::ops::Fill<float>{f.get(), -0.25f});
  CHECK(f.download() == std::vector<float>(1001, -0.25f));
}

template <class Exec>
void check_adam_ops(Exec& ex, const Tol& tol) {
  for (double wd : {0.0, 0.01}) {
    CAPTURE(wd);
    const size_t n = 10007;
    std::vector<float> p = randn(n, 30), m = randn(n, 31, 0.01f), v = randn(n, 32, 0.01f);
    for (float& a : v) a = a * a;
    Buf<Exec, float> pd(ex, p), md(ex, m), vd(ex, v), gd(ex, n);
    Buf<Exec, ef::ops::AdamState> st(ex, 1);
    const ef::ops::AdamState s0{0.0, 0.f, 1.f, 1.f};
    ex.upload(st.get(), &s0, sizeof(s0));
    ef::AdamConfig cfg;
    cfg.lr = 3e-3;
    cfg.weight_decay = wd;
    for (long step = 1; step <= 3; ++step) {
      const std::vector<float> g = randn(n, 40 + uint64_t(step));
      ef::adam_step_cpu(p.data(), g.data(), m.data(), v.data(), n, cfg, step);
      gd.upload(g);
      const float lr = float(cfg.lr);
      ex.upload(&st.get()->lr, &lr, sizeof(float));
      ex.for_each(1, ef::ops::AdamAdvance{st.get(), cfg.beta1, cfg.beta2});
      ex.for_each(n, ef::ops::AdamUpdate{pd.get(), gd.get(), md.get(), vd.get(), st.get(),
                                         float(cfg.beta1), float(cfg.beta2), float(cfg.eps),
                                         float(wd)});
    }
    check_close(pd.download(), p, "params", tol.r(1e-5), tol.r(1e-6));
    check_close(md.download(), m, "first moments", tol.r(1e-5), tol.r(1e-6));
    check_close(vd.download(), v, "second moments", tol.r(1e-5), tol.r(1e-6));
  }
}

template <class Exec>
void check_feature_ops(Exec& ex) {
  // Two groups (3 and 2 levels) and 2 continuous dims; features [onehot g0 | onehot g1 | u].
  const int B = 50, G = 2, D = 2;
  std::vector<int> codes, grp{0, 0, 0, 1, 1, -1, -1}, val{0, 1, 2, 0, 1, 0, 1};
  for (int r = 0; r < B; ++r) {
    codes.push_back(r % 3);
    codes.push_back(r % 5 == 0 ? -1 : r % 2);  // -1: not drawn yet, an all-zero one-hot
  }
  const std::vector<float> u = randn(size_t(B) * D, 50);
  const int Fw = int(grp.size());
  std::vector<float> F(size_t(B) * Fw);
  for (int r = 0; r < B; ++r)
    for (int j = 0; j < Fw; ++j)
      F[size_t(r) * Fw + j] = grp[size_t(j)] >= 0
                                  ? float(codes[size_t(r) * G + grp[size_t(j)]] == val[size_t(j)])
                                  : u[size_t(r) * D + val[size_t(j)]];
  Buf<Exec, int> cd(ex, codes), gd(ex, grp), vd(ex, val);
  Buf<Exec, float> ud(ex, u), Fd(ex, F.size());
  ex.for_each(F.size(), ef::ops::WriteFeatures{cd.get(), G, ud.get(), D, gd.get(), vd.get(),
                                               Fd.get(), Fw, 0, Fw});
  CHECK(Fd.download() == F);
  // The categorical MADE's input of a part holding group 1: [onehot(g1) | F[:, :3]].
  const int Wp = 2, Cc = 3;
  Buf<Exec, int> pg(ex, std::vector<int>{1, 1}), pl(ex, std::vector<int>{0, 1});
  Buf<Exec, float> cat(ex, size_t(B) * (Wp + Cc));
  ex.for_each(size_t(B) * (Wp + Cc),
              ef::ops::CatPack{cd.get(), G, pg.get(), pl.get(), Wp, Fd.get(), Fw, Cc, cat.get()});
  std::vector<float> want;
  for (int r = 0; r < B; ++r) {
    for (int k = 0; k < Wp; ++k) want.push_back(float(codes[size_t(r) * G + 1] == k));
    for (int j = 0; j < Cc; ++j) want.push_back(F[size_t(r) * Fw + j]);
  }
  CHECK(cat.download() == want);
  // Continuous columns of a part back into u (ScatterCols).
  Buf<Exec, float> u2(ex, std::vector<float>(u.size(), 0.f));
  ex.for_each(size_t(B), ef::ops::ScatterCols{ud.get(), D, u2.get(), D, 1, 1});
  const std::vector<float> got = u2.download();
  for (int r = 0; r < B; ++r) {
    CHECK(got[size_t(r) * D] == 0.f);
    CHECK(got[size_t(r) * D + 1] == u[size_t(r) * D]);
  }
  // The resident step's bookkeeping: loss to slot step % K, start += B.
  Buf<Exec, double> loss(ex, std::vector<double>{-1.5}), ring(ex, std::vector<double>(3, 0.0));
  Buf<Exec, int> start(ex, std::vector<int>{10}), counter(ex, std::vector<int>{4});
  ex.for_each(1, ef::ops::RecordStep{loss.get(), ring.get(), 3, start.get(), counter.get(), 64});
  CHECK(ring.download() == std::vector<double>{0.0, -1.5, 0.0});
  CHECK(start.download() == std::vector<int>{74});
  CHECK(counter.download() == std::vector<int>{5});
}

}  // namespace efo
