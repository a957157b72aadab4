// The config parser (host/config.cpp) and its key table (host/config_keys.cpp): defaults come
// from the table, every range is enforced, the template parses back, in-memory configs (Python,
// C API) reject the file keys.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "config.hpp"
#include "config_keys.hpp"
#include "error.hpp"
#include "flow_spec.hpp"

namespace {
using nlohmann::json;

ef::Config parse(const std::string& text, const std::vector<std::string>& sets = {}) {
  return ef::parse_config(text, "t.json", "/base", sets);
}

// The message of the ef::Error parsing `text` throws ("" when it parses).
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse(text, sets);
  } catch (const ef::Error& e) {
    return e.what();
  }
  return "";
}

const char* kMinimal = R"({"data": {"path": "d.csv"}})";

}  // namespace

TEST_CASE("config: a config with only data.path takes every default from the key table") {
  const ef::Config c = parse(kMinimal);
  CHECK(c.data_path == "/base/d.csv");
  CHECK(c.output_model == "/base/model.efm");
  // "auto" defaults: 0 / -1 tell the trainer to apply the rule of the table's size.
  CHECK(ef::config_default("train.epochs") == "auto");
  CHECK(c.train.epochs == 0);
  CHECK(ef::config_default("train.batch_size") == "auto");
  CHECK(c.train.batch_size == 0);
  CHECK(c.train.adam.lr == ef::config_default("train.learning_rate").get<double>());
  CHECK(ef::config_default("train.validation_fraction") == "auto");
  CHECK(c.train.validation_fraction == -1.0);
  CHECK(ef::config_default("train.patience") == "auto");
  CHECK(c.train.patience == -1);
  CHECK(c.train.loss_every == ef::config_default("train.loss_every").get<int>());
  CHECK(c.train.max_resident_bytes == -1);  // no default: half the device's free memory
  CHECK(c.flow.layers == ef::config_default("model.layers").get<int>());
  CHECK(c.flow.hidden == ef::config_default("model.hidden").get<std::vector<int>>());
  CHECK(ef::config_default("model.bins") == "auto");
  CHECK(c.flow.bins == 0);  // ef::kAutoBins: resolved at fit (host/flow_size.hpp)
  CHECK(ef::config_default("model.tail_bound") == "auto");
  CHECK(c.flow.tail_bound == 0);  // ef::kAutoTailBound: resolved at fit (host/flow_size.hpp)
  CHECK(c.flow.clamp == ef::config_default("model.clamp").get<double>());
  CHECK(std::string(ef::to_string(c.flow.kind)) == ef::config_default("model.flow").get<std::string>());
  CHECK(c.flow.permutation == ef::default_permutation(c.flow));
  CHECK(c.missing_tokens == ef::config_default("data.missing").get<std::vector<std::string>>());
  CHECK(c.categorical_max_levels == ef::config_default("data.categorical_max_levels").get<int>());
  CHECK(c.device == ef::config_default("device").get<std::string>());
  CHECK(c.conditional.empty());
}

TEST_CASE("config: values are read into the config") {
  const ef::Config c = parse(R"({"data": {"path": "/abs/d.csv", "missing": ["-"],
      "categorical_max_levels": 3, "columns": {"a": "integer", "b": {"type": "continuous", "min": 0,
      "max": 2, "encoder": "quantile"}}},
    "model": {"flow": ["nsf-coupling", "realnvp"], "layers": 3, "hidden": [7], "bins": 5,
              "tail_bound": 4.5, "activation": "tanh", "permutation": "random", "actnorm": true},
    "train": {"epochs": 2, "batch_size": 9, "learning_rate": 0.5, "seed": 12, "threads": 1,
              "max_resident_mb": 2},
    "conditional": ["a"], "device": "cpu", "output": {"model": "m/x.efm"}})");
  CHECK(c.data_path == "/abs/d.csv");
  CHECK(c.output_model == "/base/m/x.efm");
  CHECK(c.missing_tokens == std::vector<std::string>{"-"});
  CHECK(c.categorical_max_levels == 3);
  CHECK(c.column_types.at("a") == ef::ColumnType::Integer);
  const ef::ColumnOptions& b = c.column_options.at("b");
  CHECK((b.has_min && b.has_max && b.min == 0 && b.max == 2 && b.encoder == "quantile"));
  CHECK(ef::flow_name(c.flow) == "nsf-coupling+realnvp");
  CHECK(c.flow.layers == 3);
  CHECK(c.flow.hidden == std::vector<int>{7});
  CHECK(c.flow.bins == 5);
  CHECK(c.flow.tail_bound == 4.5);
  CHECK(c.flow.activation == ef::Activation::Tanh);
  CHECK(c.flow.permutation == ef::Permutation::Random);
  CHECK(c.flow.actnorm);
  CHECK(c.train.epochs == 2);
  CHECK(c.train.batch_size == 9);
  CHECK(c.train.adam.lr == 0.5);
  CHECK(c.train.seed == 12);
  CHECK(c.flow.seed == 12);
  CHECK(c.threads == 1);
  CHECK(c.train.max_resident_bytes == 2 * 1048576);
  CHECK(c.conditional == std::vector<std::string>{"a"});
  CHECK(c.device == "cpu");
}

TEST_CASE("config: every range in the key table is enforced, at both ends") {
  // For each numeric key: a value just outside each finite end is rejected with the key's name,
  // a value at a closed end is accepted.
  int checked = 0;
  for (const ef::ConfigKey& k : ef::config_keys()) {
    if (k.type != ef::KeyType::Int && k.type != ef::KeyType::Number && k.type != ef::KeyType::Ints &&
        k.type != ef::KeyType::IntOrAuto && k.type != ef::KeyType::NumberOrAuto)
      continue;
    const bool number = k.type == ef::KeyType::Number || k.type == ef::KeyType::NumberOrAuto;
    if (k.path.find('*') != std::string::npos) continue;
    const std::string sec = k.section(), leaf = k.leaf();
    auto config_with = [&](double v) {
      json root = {{"data", {{"path", "d.csv"}}}};
      json value = number ? json(v) : json((long long)v);
      if (k.type == ef::KeyType::Ints) value = json::array({value});
      if (sec.empty()) root[leaf] = value;
      else root[sec][leaf] = value;
      return root.dump();
    };
    const double step = number ? 1e-6 * std::max(1.0, std::fabs(k.range.lo)) : 1;
    if (k.range.lo > -1e300) {
      CAPTURE(k.path);
      CHECK(error_of(config_with(k.range.lo_open ? k.range.lo : k.range.lo - step)).find(k.path) != std::string::npos);
      if (!k.range.lo_open) CHECK(error_of(config_with(k.range.lo)) == "");
      ++checked;
    }
    if (k.range.hi < 1e300 && k.range.hi < 1e15) {
      CAPTURE(k.path);
      CHECK(error_of(config_with(k.range.hi_open ? k.range.hi : k.range.hi + step)).find(k.path) != std::string::npos);
      ++checked;
    }
  }
  CHECK(checked >= 15);
}

TEST_CASE("config: errors name the file and the key") {
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"learning_rate": 0}})") ==
        "t.json: train.learning_rate must be in (0, 10) (got 0)");
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"learning_rate": -1}})").find("train.learning_rate") !=
        std::string::npos);
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "model": {"bins": 65}})") ==
        "t.json: model.bins must be in [2, 64] (got 65)");
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"batch_size": 1.5}})") ==
        "t.json: train.batch_size must be an integer, got number");
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"batch_size": "big"}})") ==
        "t.json: train.batch_size must be integer or \"auto\" (got \"big\")");
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"batch_size": "auto", "epochs": 7}})") == "");
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"trian": 1}})").find("unknown key \"train.trian\"") !=
        std::string::npos);
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "model": {"flow": "glow"}})").find(
            "t.json: model: unknown flow \"glow\"") == 0);
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "model": {"hidden": [8, 0]}})") ==
        "t.json: model.hidden entries must be in [1, 65536] (got 0)");
  CHECK(error_of(R"({"data": {"path": "d.csv", "columns": {"x": {"type": "text"}}}})").find(
            "data.columns.x: unknown type \"text\"") != std::string::npos);
  CHECK(error_of(R"({"data": {"path": "d.csv", "columns": {"x": {"mn": 1}}}})").find(
            "unknown key \"data.columns.x.mn\"") != std::string::npos);
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "device": "tpu"})").find("unknown device \"tpu\"") !=
        std::string::npos);
  CHECK(error_of(R"({"model": {}})") == "t.json: missing \"data\" section (data.path is required)");
  CHECK(error_of("{\"data\":\n {\"path\": }}").find("line 2, column") != std::string::npos);
  // 2^32 + 1 must not wrap around to 1.
  CHECK(error_of(kMinimal, {"model.layers=4294967297"}).find("model.layers") != std::string::npos);
  CHECK(error_of(kMinimal, {"train.seed=18446744073709551615"}).find("train.seed is out of range") !=
        std::string::npos);
}

TEST_CASE("config: --set overrides by dotted path before validation") {
  const ef::Config c = parse(kMinimal, {"train.epochs=3", "model.flow=realnvp", "model.hidden=[4,5]"});
  CHECK(c.train.epochs == 3);
  CHECK(c.flow.kind == ef::FlowKind::RealNVP);
  CHECK(c.flow.hidden == std::vector<int>{4, 5});
  CHECK(error_of(kMinimal, {"train.epochs=0"}).find("train.epochs") != std::string::npos);
  CHECK(error_of(kMinimal, {"novalue"}).find("expected KEY=VALUE") != std::string::npos);
}

TEST_CASE("config: a table in memory (Python, C API) takes no file keys") {
  auto mem = [](const std::string& text) {
    return ef::config_from_json(json::parse(text), "settings", "", {}, ef::ConfigFor::Table);
  };
  const ef::Config c = mem(R"({"model": {"bins": 4}, "data": {"categorical_max_levels": 0}})");
  CHECK(c.flow.bins == 4);
  CHECK(c.categorical_max_levels == 0);
  CHECK(c.data_path.empty());
  CHECK_THROWS_WITH_AS(mem(R"({"data": {"path": "x.csv"}})"),
                       doctest::Contains("data.path does not apply"), ef::Error);
  CHECK_THROWS_WITH_AS(mem(R"({"output": {"model": "m.efm"}})"), doctest::Contains("output does not apply"),
                       ef::Error);
  CHECK_THROWS_WITH_AS(mem(R"({"train": {"learning_rate": 0}})"),
                       doctest::Contains("train.learning_rate must be in (0, 10)"), ef::Error);
}

TEST_CASE("config: the template lists every key and parses back as the default config") {
  const std::string tpl = ef::config_template();
  for (const ef::ConfigKey& k : ef::config_keys()) {
    CAPTURE(k.path);
    CHECK(tpl.find("\"" + k.leaf() + "\"") != std::string::npos);
    CHECK(tpl.find(k.meaning) != std::string::npos);
  }
  const ef::Config t = parse(tpl);
  const ef::Config d = parse(kMinimal);
  CHECK(t.data_path == "/base/data.csv");
  CHECK(t.train.epochs == d.train.epochs);
  CHECK(t.train.adam.lr == d.train.adam.lr);
  CHECK(t.flow.bins == d.flow.bins);
  CHECK(t.flow.hidden == d.flow.hidden);
  CHECK(t.flow.permutation == d.flow.permutation);
  CHECK(t.missing_tokens == d.missing_tokens);
  CHECK(t.output_model == d.output_model);
  CHECK(t.train.max_resident_bytes == d.train.max_resident_bytes);
  // The template's defaults are the table's: the effective config holds each key's default.
  for (const ef::ConfigKey& k : ef::config_keys()) {
    if (k.def.empty() || k.path.find('*') != std::string::npos || k.path == "data.path") continue;
    CAPTURE(k.path);
    const json& e = t.effective;
    const json v = k.section().empty() ? e.at(k.leaf()) : e.at(k.section()).at(k.leaf());
    CHECK(v == json::parse(k.def));
  }
}

TEST_CASE("config: train.weight_decay auto and train.weight_decay_on") {
  ef::Config c = parse(R"({"data": {"path": "d.csv"}, "train": {"weight_decay": "auto"}})");
  CHECK(c.train.adam.weight_decay == ef::kWeightDecayAuto);  // resolved at fit (ef::resolve_weight_decay)
  CHECK(c.train.decay_on == ef::DecayOn::Auto);
  c = parse(R"({"data": {"path": "d.csv"}, "train": {"weight_decay": 0.25, "weight_decay_on": "flow"}})");
  CHECK(c.train.adam.weight_decay == 0.25);
  CHECK(c.train.decay_on == ef::DecayOn::Flow);
  CHECK(ef::config_default("train.weight_decay_on") == "auto");
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"weight_decay_on": "flows"}})").find("weight_decay_on") !=
        std::string::npos);
  CHECK(error_of(R"({"data": {"path": "d.csv"}, "train": {"weight_decay": -0.1}})").find("weight_decay") !=
        std::string::npos);
}

TEST_CASE("config: the table's choices are the engine's names") {
  // Each listed choice converts (the engine's *_from would throw otherwise), so the table and
  // the engine cannot disagree on names.
  for (const std::string& v : ef::config_key("model.flow").choice_list()) CHECK_NOTHROW(ef::flow_kind_from(v));
  for (const std::string& v : ef::config_key("model.activation").choice_list()) CHECK_NOTHROW(ef::activation_from(v));
  for (const std::string& v : ef::config_key("model.degrees").choice_list()) CHECK_NOTHROW(ef::degrees_from(v));
  for (const std::string& v : ef::config_key("model.permutation").choice_list()) CHECK_NOTHROW(ef::permutation_from(v));
  for (const std::string& v : ef::config_key("model.masks").choice_list()) CHECK_NOTHROW(ef::coupling_mask_from(v));
  for (const std::string& v : ef::config_key("data.columns.*.type").choice_list()) CHECK_NOTHROW(ef::column_type_from(v));
  CHECK(ef::config_key("model.flow").choice_list().size() == 4);
  std::set<std::string> paths;
  for (const ef::ConfigKey& k : ef::config_keys()) CHECK(paths.insert(k.path).second);  // no duplicates
}

TEST_CASE("config: data.path as a shard list or glob (docs/SCALE.md)") {
  const ef::Config one = parse(kMinimal);
  CHECK_FALSE(one.sharded);
  // A list keeps its order (shard i goes to rank i mod R), resolved against the config's folder.
  const ef::Config list = parse(R"({"data": {"path": ["z.csv", "/abs/a.csv.gz", "m.csv"]}})");
  CHECK(list.sharded);
  CHECK(list.data_shards == std::vector<std::string>{"/base/z.csv", "/abs/a.csv.gz", "/base/m.csv"});
  // A glob: its matches in byte order.
  const auto dir = std::filesystem::temp_directory_path() / ("ef_shards_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* f : {"part-10.csv", "part-2.csv", "part-1.csv", "other.csv"}) std::ofstream(dir / f) << "x\n1\n";
  const ef::Config g = ef::parse_config(R"({"data": {"path": "part-*.csv"}})", "t.json", dir.string(), {});
  CHECK(g.sharded);
  REQUIRE(g.data_shards.size() == 3);
  CHECK(g.data_shards[0] == (dir / "part-1.csv").string());
  CHECK(g.data_shards[1] == (dir / "part-10.csv").string());
  CHECK(g.data_shards[2] == (dir / "part-2.csv").string());
  const std::string none = [&] {
    try {
      ef::parse_config(R"({"data": {"path": "nothing-*.csv"}})", "t.json", dir.string(), {});
    } catch (const ef::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  CHECK(none.find("data.path: no file matches") != std::string::npos);
  std::filesystem::remove_all(dir);
  CHECK(error_of(R"({"data": {"path": [1]}})").find("entries must be strings") != std::string::npos);
}
