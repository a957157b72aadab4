// The flow-kind registry (engine/flow_kinds.hpp) is what names, checks and builds the kinds:
// names round-trip, unknown names are rejected with the registered list, each entry's factory
// builds the layer the entry describes (its name, autoregressive structure, conditioner shape),
// and Flow and the device backend build every kind from it.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "backend.hpp"
#include "error.hpp"
#include "flow.hpp"
#include "flow_kinds.hpp"
#include "flow_spec.hpp"
#include "made_incremental.hpp"
#include "spline_math.hpp"

TEST_CASE("flow kinds: names round-trip and unknown names list the registry") {
  const auto& kinds = ef::flow_kinds();
  REQUIRE(!kinds.empty());
  std::set<std::string> names;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const ef::FlowKindInfo& k = kinds[i];
    CAPTURE(k.name);
    CHECK(size_t(k.kind) == i);  // the enum is generated from the same list, in order
    CHECK(&ef::flow_kind_info(k.kind) == &k);
    CHECK(std::string(ef::to_string(k.kind)) == k.name);
    CHECK(ef::flow_kind_from(k.name) == k.kind);
    CHECK(ef::find_flow_kind(k.name) == &k);
    CHECK(ef::is_autoregressive(k.kind) == k.autoregressive());
    names.insert(k.name);
  }
  CHECK(names.size() == kinds.size());
  CHECK(ef::flow_kind_names().size() == kinds.size());
  CHECK(ef::find_flow_kind("glow") == nullptr);
  // The error names every registered kind (today: "maf", "realnvp", "nsf-coupling" or "nsf-ar").
  try {
    ef::flow_kind_from("glow");
    FAIL("an unknown flow was accepted");
  } catch (const ef::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("unknown flow \"glow\" (expected " + ef::flow_kind_list() + ")") !=
          std::string::npos);
    for (const ef::FlowKindInfo& k : kinds)
      CHECK(msg.find(std::string("\"") + k.name + "\"") != std::string::npos);
  }
}

TEST_CASE("flow kinds: each entry's factory builds the layer it describes") {
  for (const ef::FlowKindInfo& k : ef::flow_kinds()) {
    CAPTURE(k.name);
    ef::FlowSpec s;
    s.dim = 4;
    s.context = 2;
    s.hidden = {8};
    s.bins = 5;
    ef::set_layer_kinds(s, {k.kind});
    CHECK(ef::has_splines(s) == k.spline());
    for (int l : {0, 1}) {
      ef::ParamLayout lay;
      const auto layer = k.factory<float>()(s, l, 3, lay, "t");
      const auto layer_d = k.factory<double>()(s, l, 3, lay, "u");
      CHECK(layer->name() == k.layer_name);
      CHECK(layer_d->name() == k.layer_name);
      CHECK((layer->made_incremental() != nullptr) == k.autoregressive());
      const ef::MaskedMLP<float>* m = layer->conditioner();
      REQUIRE(m != nullptr);
      // Transformed dims: all of them (autoregressive) or the coupling mask's zeros.
      int nt = s.dim;
      if (!k.autoregressive()) {
        nt = 0;
        for (int v : ef::coupling_mask(s, l)) nt += v == 0;
      }
      const int per_dim = k.spline() ? ef::math::spline_num_params(s.bins) : 2;
      CHECK(m->out_size() == nt * per_dim);
    }
  }
}

TEST_CASE("flow kinds: Flow and the device backend build every kind, mixed, from the registry") {
  ef::TabularSpec spec;
  for (const ef::FlowKindInfo& k : ef::flow_kinds()) spec.flow.mix.push_back(k.kind);
  spec.flow.kind = spec.flow.mix[0];
  spec.flow.layers = int(spec.flow.mix.size());
  spec.flow.hidden = {8};
  spec.flow.bins = 4;
  spec.parts = {{{}, 3}};
  ef::ParamLayout lay;
  ef::FlowSpec fs = spec.flow;
  fs.dim = 3;
  const ef::Flow<float> f(fs, lay, "f");
  size_t li = 0;
  for (const ef::FlowKindInfo& k : ef::flow_kinds()) {
    while (li < f.num_layers() && f.layer(li).name() == "permutation") ++li;
    REQUIRE(li < f.num_layers());
    CHECK(f.layer(li++).name() == k.layer_name);
  }
  // The device plan checks each CPU layer against its kind's entry, and computes the same.
  auto cpu = ef::make_cpu_backend(spec);
  auto dev = ef::make_host_device_backend(spec);
  cpu->init_params();
  dev->set_params(cpu->get_params());
  std::vector<float> u(3 * 64);
  for (size_t i = 0; i < u.size(); ++i) u[i] = float(ef::math::rand_normal(1, 2, i));
  const int no_codes = 0;
  const double lc = cpu->forward(&no_codes, u.data(), 64),
               ld = dev->forward(&no_codes, u.data(), 64);
  CHECK(ld == doctest::Approx(lc).epsilon(1e-5));
}
