// Data-parallel training (host/trainer.cpp) without MPI: two threads, each a rank of an
// in-process Communicator, train the same table and must follow the 1-process run, and a rank
// with a different table must stop both ranks with the same AgreedError. The MPI build's
// tests/mpi/test_mpi.sh runs the same paths through mpirun.
#include <echoflow/echoflow.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstring>

#include <nlohmann/json.hpp>

#include "communicator.hpp"
#include "test_util.hpp"
#include "thread_comm.hpp"

namespace {

using eft_comm::fit_on_ranks;

// A curved 2-D cloud plus an integer column (dequantization noise: the slices' noise offsets
// matter) and a categorical one.
echoflow::Table make_table(size_t n, uint64_t seed) {
  std::vector<double> x(n), y(n), k(n);
  std::vector<std::string> c(n);
  for (size_t r = 0; r < n; ++r) {
    const double a = ef::math::rand_normal(seed, 1, r), b = ef::math::rand_normal(seed, 2, r);
    x[r] = a;
    y[r] = 0.5 * a * a + 0.3 * b;
    k[r] = std::floor(3 + 2 * a + b);
    c[r] = a > 0.3 ? "hi" : a < -0.3 ? "lo" : "mid";
  }
  echoflow::Table t;
  t.columns = {echoflow::Column::numeric("x", x), echoflow::Column::numeric("y", y),
               echoflow::Column::numeric("k", k, ef::ColumnType::Integer),
               echoflow::Column::categorical("c", c)};
  return t;
}

echoflow::FitOptions options(ef::FlowKind kind) {
  echoflow::FitOptions o;
  o.flow.kind = kind;
  o.flow.layers = 3;
  o.flow.hidden = {16, 16};
  o.train.epochs = 8;
  o.train.batch_size = 64;
  o.train.seed = 4;
  o.device = "cpu";
  o.threads = 1;
  return o;
}

}  // namespace

TEST_CASE("data parallel: two in-process ranks follow the 1-process run (maf, nsf-coupling)") {
  const echoflow::Table t = make_table(800, 9);
  for (ef::FlowKind flow : {ef::FlowKind::MAF, ef::FlowKind::NSFCoupling}) {
    CAPTURE(int(flow));
    const echoflow::FitOptions opt = options(flow);
    const echoflow::Model one = echoflow::Model::fit(t, opt);
    const auto two = fit_on_ranks(2, opt, [&](int) -> const echoflow::Table& { return t; });
    // Same epochs, same per-epoch NLLs up to float reassociation of the gradient sums (the
    // tolerance is docs/SCALE.md's), and the two ranks hold the same model.
    const auto& h1 = one.training().history;
    const auto& h2 = two[0]->training().history;
    REQUIRE(h1.size() == h2.size());
    for (size_t e = 0; e < h1.size(); ++e) {
      CHECK(std::fabs(h1[e].train_nll - h2[e].train_nll) < 5e-3);
      CHECK(std::fabs(h1[e].val_nll - h2[e].val_nll) < 5e-3);
    }
    CHECK(two[0]->training().best_epoch == one.training().best_epoch);
    CHECK(two[0]->training().grad_sums == long(h1.size()) * (int(800 * 0.8) / 64));
    const std::vector<double> s1 = one.score(t), s2 = two[0]->score(t), s3 = two[1]->score(t);
    for (size_t r = 0; r < s1.size(); ++r) {
      CHECK(s2[r] == s3[r]);  // the ranks' models are identical
      CHECK(std::fabs(s1[r] - s2[r]) < 2e-3 * std::max(1.0, std::fabs(s1[r])));
    }
  }
}

TEST_CASE("data parallel: ranks holding different tables stop together with one message") {
  const echoflow::Table t[2] = {make_table(400, 3), make_table(500, 3)};
  std::vector<std::string> msg;
  fit_on_ranks(2, options(ef::FlowKind::MAF), [&](int r) -> const echoflow::Table& { return t[r]; }, &msg);
  CHECK(msg[0] == msg[1]);
  CHECK(msg[0].find("ranks disagree on the table (400 to 500 rows") != std::string::npos);
}

// Sharded data (docs/SCALE.md): each rank fits and trains on its own rows only, and both end with
// byte-identical model files: encoders from gathered statistics, the same parameters.
TEST_CASE("data parallel: sharded ranks fit identical encoders from the rows of both") {
  const echoflow::Table all = make_table(1200, 5);
  // Unequal shards; a label only rank 1 holds ("rare"), and a value range only rank 1 reaches.
  auto rows = [&](size_t a, size_t b) {
    echoflow::Table t;
    for (const echoflow::Column& c : all.columns) {
      echoflow::Column d = c;
      if (c.type == ef::ColumnType::Categorical) d.labels.assign(c.labels.begin() + long(a), c.labels.begin() + long(b));
      else d.values.assign(c.values.begin() + long(a), c.values.begin() + long(b));
      t.columns.push_back(std::move(d));
    }
    return t;
  };
  echoflow::Table shard[2] = {rows(0, 500), rows(500, 1200)};
  for (size_t r = 0; r < 60; ++r) shard[1].columns[3].labels[r] = "rare";
  shard[1].columns[0].values[7] = 40.0;
  echoflow::FitOptions opt = options(ef::FlowKind::MAF);
  opt.train.sharded = true;
  const auto m = fit_on_ranks(2, opt, [&](int r) -> const echoflow::Table& { return shard[r]; });
  const auto dir = std::filesystem::temp_directory_path();
  const std::string p0 = (dir / ("ef_sharded_r0_" + std::to_string(::getpid()) + ".efm")).string();
  const std::string p1 = (dir / ("ef_sharded_r1_" + std::to_string(::getpid()) + ".efm")).string();
  m[0]->save(p0);
  m[1]->save(p1);
  auto bytes = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string b0 = bytes(p0), b1 = bytes(p1);
  std::remove(p0.c_str());
  std::remove(p1.c_str());
  // The files (host/model_file.cpp: magic, version, header length, JSON header, parameters) are
  // byte-identical except the header's training seconds (each rank's own clock) and so the
  // checksum that ends the file.
  auto split = [](const std::string& b, nlohmann::json& header, std::string& rest) {
    uint32_t n = 0;
    REQUIRE(b.size() > 16);
    std::memcpy(&n, b.data() + 12, 4);
    REQUIRE(b.size() > 16 + size_t(n));
    header = nlohmann::json::parse(b.substr(16, n));
    CHECK(header["training"]["seconds"].is_number());
    header["training"].erase("seconds");
    rest = b.substr(16 + size_t(n), b.size() - 16 - size_t(n) - 4);
  };
  nlohmann::json h0, h1;
  std::string r0, r1;
  split(b0, h0, r0);
  split(b1, h1, r1);
  CHECK(h0["columns"].size() == 4);
  CHECK(h0.dump() == h1.dump());  // encoders, schema, layout
  CHECK(r0.size() > 1000);
  CHECK(r0 == r1);  // parameters, bit for bit
  // Both ranks' rows: the row counts, rank 1's label and range on rank 0's model.
  const ef::TrainResult& tr = m[0]->training();
  CHECK(tr.n_train + tr.n_val == 1200);
  CHECK(m[0]->schema()["rows"] == 1200);
  CHECK(tr.grad_sums == long(tr.history.size()) * (tr.n_train / 64));
  echoflow::Table probe = rows(0, 1);
  probe.columns[3].labels[0] = "rare";
  CHECK(std::isfinite(m[0]->score(probe)[0]));
  probe.columns[0].values[0] = 39.0;
  CHECK(std::isfinite(m[0]->score(probe)[0]));
}
