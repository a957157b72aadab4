// Column maps over a chunk: ColumnEncoder::decode_many / encode_many against a loop of the scalar
// decode / encode, on one column fitted the way `train` fits a continuous one by default (quantile
// map, logit onto the widened observed range), and on a standardized integer column.
//   bench_encoders [--values 4000000] [--repeats 3]
// Prints ns per value and M values/s for both, and checks the results are bit-identical.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <echoflow/echoflow.hpp>

#include "flow_math.hpp"

namespace {

template <class F>
double best_seconds(int repeats, const F& f) {
  double best = 1e30;
  for (int k = 0; k < repeats; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

bool same(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

int run(const char* what, const ef::ColumnEncoder& e, const std::vector<double>& x, int repeats) {
  const size_t n = x.size();
  std::vector<float> u(n);
  for (size_t i = 0; i < n; ++i) u[i] = float(ef::math::rand_normal(3, 0, i));
  std::vector<double> a(n), b(n), ua(n), ub(n), la(n), lb(n);
  const double dec_s = best_seconds(repeats, [&] {
    for (size_t i = 0; i < n; ++i) a[i] = e.decode(u[i]);
  });
  const double dec_m = best_seconds(repeats, [&] { e.decode_many(u.data(), 1, n, b.data()); });
  const double enc_s = best_seconds(repeats, [&] {
    for (size_t i = 0; i < n; ++i) {
      double lj = 0;
      ua[i] = e.encode(x[i], &lj);
      la[i] = lj;
    }
  });
  const double enc_m = best_seconds(repeats, [&] {
    std::fill(lb.begin(), lb.end(), 0.0);
    e.encode_many(x.data(), n, ub.data(), lb.data());
  });
  const bool ok = same(a, b) && same(ua, ub) && same(la, lb);
  std::printf("%-34s decode: scalar %5.1f ns  chunk %5.1f ns (%.0f M values/s)   encode: scalar %5.1f ns  "
              "chunk %5.1f ns (%.0f M values/s)   %s\n",
              what, 1e9 * dec_s / double(n), 1e9 * dec_m / double(n), 1e-6 * double(n) / dec_m,
              1e9 * enc_s / double(n), 1e9 * enc_m / double(n), 1e-6 * double(n) / enc_m,
              ok ? "bit-identical" : "DIFFERENT");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"EchoFlow column map benchmark"};
  size_t values = 4000000;
  int repeats = 3;
  app.add_option("--values", values);
  app.add_option("--repeats", repeats);
  CLI11_PARSE(app, argc, argv);
  // A skewed continuous column (log-normal) through a quantile map (~1024 knots) after the
  // default observed-support logit.
  std::vector<double> train(100000), x(values);
  for (size_t i = 0; i < train.size(); ++i) train[i] = std::exp(ef::math::rand_normal(1, 0, i));
  for (size_t i = 0; i < values; ++i) x[i] = std::exp(ef::math::rand_normal(2, 0, i));
  ef::ColumnOptions qo;
  qo.encoder = "quantile";
  const ef::ColumnEncoder q = ef::ColumnEncoder::fit_numeric("lognormal", ef::ColumnType::Continuous, train, 0, "", qo);
  std::vector<double> counts(100000), xi(values);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = std::floor(50 + 10 * ef::math::rand_normal(4, 0, i));
  for (size_t i = 0; i < values; ++i) xi[i] = std::floor(50 + 10 * ef::math::rand_normal(5, 0, i)) + 0.5;
  ef::ColumnOptions st;
  st.encoder = "standardize";
  const ef::ColumnEncoder s = ef::ColumnEncoder::fit_numeric("count", ef::ColumnType::Integer, counts, 0, "", st);
  std::printf("%zu values, best of %d; quantile knots: %zu\n", values, repeats, q.qx.size());
  int bad = run("quantile + observed logit:", q, x, repeats);
  bad |= run("integer, standardize + logit:", s, xi, repeats);
  return bad;
}
