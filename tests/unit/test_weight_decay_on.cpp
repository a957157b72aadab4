// train.weight_decay_on (host/trainer.cpp, engine/adam.cpp): weight decay on one kind of module
// only. A module's term of log p depends on its own parameters only and Adam is elementwise, so
// the undecayed modules must follow the plain (no decay) run bit for bit, and the decayed ones
// the run with decay on everything -- on the CPU backend and on the device backend's code.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "adam.hpp"
#include "backend.hpp"
#include "device_cases.hpp"
#include "error.hpp"
#include "tabular_model.hpp"
#include "trainer.hpp"

namespace {

TEST_CASE("adam_segments: decayed ranges sorted and merged, the rest plain Adam") {
  ef::AdamConfig cfg;
  cfg.weight_decay = 0.5;
  auto whole = ef::adam_segments(cfg, 10);
  REQUIRE(whole.size() == 1);
  CHECK((whole[0].begin == 0 && whole[0].end == 10 && whole[0].weight_decay == 0.5));
  cfg.decay_only = {{5, 3}, {2, 2}, {4, 1}, {9, 0}};  // (offset, size): [5,8) [2,4) [4,5), empty
  const auto s = ef::adam_segments(cfg, 10);
  REQUIRE(s.size() == 3);
  CHECK((s[0].begin == 0 && s[0].end == 2 && s[0].weight_decay == 0.0));
  CHECK((s[1].begin == 2 && s[1].end == 8 && s[1].weight_decay == 0.5));
  CHECK((s[2].begin == 8 && s[2].end == 10 && s[2].weight_decay == 0.0));
  cfg.decay_only = {{0, 4}, {2, 5}};  // overlapping, from the first parameter to the last but 3
  const auto o = ef::adam_segments(cfg, 10);
  REQUIRE(o.size() == 2);
  CHECK((o[0].begin == 0 && o[0].end == 7 && o[0].weight_decay == 0.5));
  CHECK((o[1].begin == 7 && o[1].end == 10 && o[1].weight_decay == 0.0));
  cfg.decay_only = {{8, 3}};
  CHECK_THROWS_AS(ef::adam_segments(cfg, 10), ef::Error);
}

// Rows of the spec, and a batch source that copies them (no noise).
struct WdFixedRows {
  efd::Rows rows;
  int G, D;
  ef::BatchSource source() const {
    ef::BatchFn make = [this](const int* idx, int B, uint64_t, ef::Batch& out) {
      out.codes.resize(size_t(B) * G);
      out.u.resize(size_t(B) * D);
      for (int b = 0; b < B; ++b) {
        std::memcpy(out.codes.data() + size_t(b) * G, rows.codes.data() + size_t(idx[b]) * G, size_t(G) * sizeof(int));
        std::memcpy(out.u.data() + size_t(b) * D, rows.u.data() + size_t(idx[b]) * D, size_t(D) * sizeof(float));
      }
      out.logj_sum = 0;
      out.row_logj.assign(size_t(B), 0.0);
    };
    return ef::BatchSource{make, false, {}};
  }
};

// The model of `spec` trained on `data` (N rows) for a fixed number of epochs with decay `wd`
// on the modules `on` picks; its parameters, and its TrainResult in *res when given.
std::vector<float> wd_trained(const ef::TabularSpec& spec, const std::string& device, const WdFixedRows& data, int N,
                              int epochs, double wd, ef::DecayOn on, ef::TrainResult* res = nullptr) {
  auto be = device == "cpu" ? ef::make_cpu_backend(spec) : ef::make_host_device_backend(spec);
  ef::TrainOptions opt;
  opt.epochs = epochs;
  opt.batch_size = 40;
  opt.patience = 0;  // a fixed length: the decay cannot change when training stops
  opt.lr_drops = 0;
  opt.validation_fraction = 0.2;
  opt.seed = 3;
  opt.adam.lr = 1e-2;
  opt.adam.weight_decay = wd;
  opt.decay_on = on;
  const ef::TrainResult r = ef::train(*be, N, data.source(), opt, nullptr);
  CHECK(r.schedule == (device == "cpu" ? "host batches" : "device resident"));
  if (res) *res = r;
  return be->get_params();
}

// The parameters of modules m = first, first + 2, ... (first 0: categorical models, 1: flows).
std::vector<float> wd_of_modules(const ef::TabularSpec& spec, const std::vector<float>& p, int first) {
  const ef::TabularModel<float> tm(spec);
  std::vector<float> out;
  for (int m = first; m < tm.modules(); m += 2)
    for (auto [off, n] : tm.module_params(m)) out.insert(out.end(), p.begin() + long(off), p.begin() + long(off + n));
  return out;
}

}  // namespace

TEST_CASE("train.weight_decay_on: the undecayed modules train exactly as without decay") {
  for (const std::string device : {"cpu", "host-device"}) {
    for (const efd::Named& n : efd::specs()) {
      if (n.name != "maf, two parts, actnorm" && n.name != "categorical only") continue;
      CAPTURE(device);
      CAPTURE(n.name);
      const int N = 300;
      const WdFixedRows data{efd::random_rows(n.spec, N, 41), n.spec.groups(), n.spec.dims()};
      const auto plain = wd_trained(n.spec, device, data, N, 4, 0.0, ef::DecayOn::All);
      const auto all = wd_trained(n.spec, device, data, N, 4, 0.5, ef::DecayOn::All);
      const auto flow = wd_trained(n.spec, device, data, N, 4, 0.5, ef::DecayOn::Flow);
      const auto cat = wd_trained(n.spec, device, data, N, 4, 0.5, ef::DecayOn::Categorical);
      CHECK(wd_of_modules(n.spec, flow, 0) == wd_of_modules(n.spec, plain, 0));  // categorical: no decay
      CHECK(wd_of_modules(n.spec, flow, 1) == wd_of_modules(n.spec, all, 1));    // flows: decayed
      CHECK(wd_of_modules(n.spec, cat, 0) == wd_of_modules(n.spec, all, 0));
      CHECK(wd_of_modules(n.spec, cat, 1) == wd_of_modules(n.spec, plain, 1));
      CHECK(wd_of_modules(n.spec, all, 0) != wd_of_modules(n.spec, plain, 0));  // the decay did act
      if (n.spec.dims() > 0) CHECK(wd_of_modules(n.spec, all, 1) != wd_of_modules(n.spec, plain, 1));
      else CHECK(flow == plain);  // no flow to decay: no decay at all (not decay everywhere)
    }
  }
}

// train.weight_decay "auto" (ef::auto_weight_decay, ef::resolve_weight_decay): the rule of the
// training rows, and its decay acting on the categorical models only.
TEST_CASE("train.weight_decay auto: the value by training rows, 0 for large tables") {
  CHECK(ef::auto_weight_decay(100) == 0.5);
  CHECK(ef::auto_weight_decay(1000) == 0.5);
  CHECK(ef::auto_weight_decay(3000) == doctest::Approx(0.25));
  CHECK(ef::auto_weight_decay(4000) == doctest::Approx(0.125));
  CHECK(ef::auto_weight_decay(5000) == 0.0);
  CHECK(ef::auto_weight_decay(9000) == 0.0);
  CHECK(ef::auto_weight_decay(2000000) == 0.0);
  for (int n = 1000; n < 5000; n += 100) CHECK(ef::auto_weight_decay(n + 100) < ef::auto_weight_decay(n));

  ef::TrainOptions o;
  o.adam.weight_decay = ef::kWeightDecayAuto;
  ef::TrainOptions r = ef::resolve_weight_decay(o, 700);
  CHECK(r.adam.weight_decay == 0.5);
  CHECK(r.decay_on == ef::DecayOn::Categorical);
  r = ef::resolve_weight_decay(o, 9000);
  CHECK(r.adam.weight_decay == 0.0);
  o.decay_on = ef::DecayOn::Flow;  // a given module kind stays
  CHECK(ef::resolve_weight_decay(o, 700).decay_on == ef::DecayOn::Flow);
  o.adam.weight_decay = 0.3;  // a given decay: itself, on everything unless told otherwise
  o.decay_on = ef::DecayOn::Auto;
  r = ef::resolve_weight_decay(o, 700);
  CHECK(r.adam.weight_decay == 0.3);
  CHECK(r.decay_on == ef::DecayOn::All);
  o.adam.weight_decay = -0.5;
  CHECK_THROWS_AS(ef::resolve_weight_decay(o, 700), ef::Error);
}

TEST_CASE("train.weight_decay auto: a small table's categorical model is decayed, its flow and a large table are not") {
  for (const efd::Named& n : efd::specs()) {
    if (n.name != "maf, two parts, actnorm") continue;
    CAPTURE(n.name);
    auto run = [&](int N, double wd, ef::DecayOn on, ef::TrainResult& res) {
      const WdFixedRows data{efd::random_rows(n.spec, N, 41), n.spec.groups(), n.spec.dims()};
      return wd_trained(n.spec, "cpu", data, N, N > 1000 ? 1 : 4, wd, on, &res);
    };
    ef::TrainResult a, c, p;
    // 300 rows (240 training rows): 0.5 on the categorical models, the flows plain.
    const auto aut = run(300, ef::kWeightDecayAuto, ef::DecayOn::Auto, a);
    const auto cat = run(300, 0.5, ef::DecayOn::Categorical, c);
    const auto plain = run(300, 0.0, ef::DecayOn::All, p);
    CHECK(aut == cat);
    CHECK(wd_of_modules(n.spec, aut, 0) != wd_of_modules(n.spec, plain, 0));
    CHECK(wd_of_modules(n.spec, aut, 1) == wd_of_modules(n.spec, plain, 1));
    CHECK(a.weight_decay == 0.5);
    CHECK(a.decay_on == "categorical");
    CHECK(p.weight_decay == 0.0);
    CHECK(p.decay_on.empty());
    // 6,250 rows (5,000 training rows): no decay at all.
    const auto big_auto = run(6250, ef::kWeightDecayAuto, ef::DecayOn::Auto, a);
    const auto big_plain = run(6250, 0.0, ef::DecayOn::All, p);
    CHECK(big_auto == big_plain);
    CHECK(a.weight_decay == 0.0);
    CHECK(a.decay_on.empty());
  }
}
