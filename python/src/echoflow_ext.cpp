// echoflow._core: the nanobind extension behind the Python package. A thin layer over the public
// C++ API (echoflow::Table, echoflow::Model); the pandas side (dtypes, labels, missing values)
// lives in python/echoflow/_model.py.
//
//   - Tables are built column by column from numpy arrays: numeric arrays are read in place
//     (any strides, float/int/uint/bool dtypes; NaN = missing) and copied once into the
//     Column's std::vector<double>, which the C++ API owns. Categorical columns arrive as codes
//     plus their distinct labels (pandas.factorize), so no Python string is touched per row.
//   - Results leave without copies: score() and sampled numeric columns hand their
//     std::vector<double> to numpy (a capsule owns it); categorical samples come back as int32
//     codes into a list of distinct labels.
//   - Settings arrive as an eftrain config (JSON text) and go through the same parser and key
//     table as a config file; the column-type rule for numbers is the CSV reader's.
//   - fit/score/sample release the GIL. During fit the per-epoch callback reacquires it briefly
//     to print progress (verbose) and to run PyErr_CheckSignals(): a pending KeyboardInterrupt
//     aborts training by exception and is re-raised in Python.
//   - ef::Error becomes echoflow.EchoFlowError, a subclass of ValueError.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <echoflow/echoflow.hpp>
#include <memory>
#include <omp.h>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "config_keys.hpp"
#include "progress.hpp"
#include "text_cells.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using echoflow::Column;
using echoflow::ColumnType;
using echoflow::Model;
using echoflow::Table;

struct Interrupted {};  // thrown out of the epoch callback when a signal handler raised

using AnyArray = nb::ndarray<nb::ro, nb::ndim<1>, nb::device::cpu>;
using F64Array = nb::ndarray<nb::numpy, double, nb::ndim<1>>;

// Hands a std::vector to numpy without copying: the capsule owns the vector.
template <class T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T>&& v) {
  auto* owned = new std::vector<T>(std::move(v));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

ColumnType type_from(const std::string& s) {
  if (s == "continuous") return ColumnType::Continuous;
  if (s == "integer") return ColumnType::Integer;
  if (s == "categorical") return ColumnType::Categorical;
  throw nb::value_error(("unknown column type \"" + s + "\"").c_str());
}

const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::Continuous: return "continuous";
    case ColumnType::Integer: return "integer";
    default: return "categorical";
  }
}

void check_rows(const Table& t, const std::string& name, size_t n) {
  if (t.find(name) >= 0) throw nb::value_error(("column \"" + name + "\" added twice").c_str());
  if (!t.columns.empty() && t.rows() != n)
    throw nb::value_error(("column \"" + name + "\" has " + std::to_string(n) + " rows, expected " +
                           std::to_string(t.rows())).c_str());
}

// Reads element i of a 1-D array of any numeric dtype as a double.
template <class T>
void copy_strided(const AnyArray& a, std::vector<double>& out) {
  const T* p = static_cast<const T*>(a.data());
  const int64_t s = a.stride(0);
  for (size_t i = 0; i < out.size(); ++i) out[i] = double(p[int64_t(i) * s]);
}

// Adds a numeric column. NaN values (and rows flagged in `missing`, if given) are missing.
void add_numeric(Table& t, const std::string& name, const std::string& type, const AnyArray& a,
                 nb::object missing_obj) {
  const ColumnType ct = type_from(type);
  if (ct == ColumnType::Categorical) throw nb::value_error("add_numeric: categorical type");
  const size_t n = a.shape(0);
  check_rows(t, name, n);
  Column c;
  c.name = name;
  c.type = ct;
  c.values.resize(n);
  const nb::dlpack::dtype dt = a.dtype();
  if (dt == nb::dtype<double>()) copy_strided<double>(a, c.values);
  else if (dt == nb::dtype<float>()) copy_strided<float>(a, c.values);
  else if (dt == nb::dtype<int64_t>()) copy_strided<int64_t>(a, c.values);
  else if (dt == nb::dtype<int32_t>()) copy_strided<int32_t>(a, c.values);
  else if (dt == nb::dtype<int16_t>()) copy_strided<int16_t>(a, c.values);
  else if (dt == nb::dtype<int8_t>()) copy_strided<int8_t>(a, c.values);
  else if (dt == nb::dtype<uint64_t>()) copy_strided<uint64_t>(a, c.values);
  else if (dt == nb::dtype<uint32_t>()) copy_strided<uint32_t>(a, c.values);
  else if (dt == nb::dtype<uint16_t>()) copy_strided<uint16_t>(a, c.values);
  else if (dt == nb::dtype<uint8_t>()) copy_strided<uint8_t>(a, c.values);
  else if (dt == nb::dtype<bool>()) copy_strided<bool>(a, c.values);
  else throw nb::type_error(("column \"" + name + "\": unsupported array dtype").c_str());
  std::vector<uint8_t> miss;
  if (!missing_obj.is_none()) {
    auto m = nb::cast<nb::ndarray<nb::ro, const bool, nb::ndim<1>, nb::device::cpu>>(missing_obj);
    if (m.shape(0) != n) throw nb::value_error(("column \"" + name + "\": bad missing mask").c_str());
    miss.assign(n, 0);
    const bool* p = m.data();
    const int64_t s = m.stride(0);
    for (size_t i = 0; i < n; ++i) miss[i] = p[int64_t(i) * s] ? 1 : 0;
  }
  for (size_t i = 0; i < n; ++i)
    if (std::isnan(c.values[i])) {
      if (miss.empty()) miss.assign(n, 0);
      miss[i] = 1;
    }
  bool any = false;
  for (uint8_t v : miss) any |= v != 0;
  if (any) c.missing = std::move(miss);
  ef::check_text_cells(c, "table");
  t.columns.push_back(std::move(c));
}

// Adds a categorical column from codes into `labels` (code < 0 = missing).
template <class T>
void expand_codes(const AnyArray& a, const std::vector<std::string>& labels, Column& c) {
  const T* p = static_cast<const T*>(a.data());
  const int64_t s = a.stride(0);
  const size_t n = c.labels.size();
  for (size_t i = 0; i < n; ++i) {
    const int64_t k = int64_t(p[int64_t(i) * s]);
    if (k < 0) {
      if (c.missing.empty()) c.missing.assign(n, 0);
      c.missing[i] = 1;
    } else if (size_t(k) >= labels.size()) {
      throw nb::value_error(("column \"" + c.name + "\": code out of range").c_str());
    } else {
      c.labels[i] = labels[size_t(k)];
    }
  }
}

void add_categorical(Table& t, const std::string& name, const AnyArray& codes,
                     const std::vector<std::string>& labels, const std::string& missing_token) {
  const size_t n = codes.shape(0);
  check_rows(t, name, n);
  Column c;
  c.name = name;
  c.type = ColumnType::Categorical;
  c.missing_token = missing_token;
  c.labels.resize(n);
  const nb::dlpack::dtype dt = codes.dtype();
  if (dt == nb::dtype<int64_t>()) expand_codes<int64_t>(codes, labels, c);
  else if (dt == nb::dtype<int32_t>()) expand_codes<int32_t>(codes, labels, c);
  else if (dt == nb::dtype<int16_t>()) expand_codes<int16_t>(codes, labels, c);
  else if (dt == nb::dtype<int8_t>()) expand_codes<int8_t>(codes, labels, c);
  else throw nb::type_error(("column \"" + name + "\": codes must be a signed integer array").c_str());
  ef::check_text_cells(c, "table");
  t.columns.push_back(std::move(c));
}

nb::dict report_dict(const ef::EpochReport& r) {
  nb::dict d;
  d["epoch"] = r.epoch;
  d["train_nll"] = r.train_nll;
  d["val_nll"] = r.val_nll;
  d["rows_per_s"] = r.rows_per_s;
  d["improved"] = r.improved;
  return d;
}

// The settings go through eftrain's config parser (ef::config_from_json): the same keys,
// defaults and checks as a config file. provenance_json is stored with the config in the model
// file (the DataFrame's dtypes, for sample()).
echoflow::FitOptions fit_options_from(const std::string& config_json) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(config_json);
  } catch (const nlohmann::json::exception& e) {
    throw ef::Error(std::string("EchoFlow settings: ") + e.what(), __FILE__, __LINE__);
  }
  return ef::fit_options(ef::config_from_json(root, "EchoFlow settings", "", {}, ef::ConfigFor::Table));
}

Model fit(const Table& t, const std::string& config_json, const std::string& provenance_json,
          bool verbose) {
  echoflow::FitOptions opt = fit_options_from(config_json);
  if (!provenance_json.empty()) opt.config["python"] = nlohmann::json::parse(provenance_json);
  const size_t rows = t.rows(), cols = t.columns.size();
  if (verbose)
    PySys_WriteStderr("echoflow: %zu rows x %zu columns; %s, %d layers; device %s\n", rows, cols,
                      ef::flow_name(opt.flow).c_str(), opt.flow.layers, opt.device.c_str());
  opt.on_epoch = [verbose](const ef::EpochReport& r) {
    nb::gil_scoped_acquire gil;
    if (verbose) PySys_WriteStderr("%s", ef::progress_line(r).c_str());
    if (PyErr_CheckSignals() != 0) throw Interrupted{};
  };
  try {
    nb::gil_scoped_release release;
    Model m = Model::fit(t, opt);
    return m;
  } catch (const Interrupted&) {
    throw nb::python_error();  // the KeyboardInterrupt (or whatever the handler raised)
  }
}

// The effective settings (defaults filled) after the parser's checks: raises EchoFlowError.
std::string check_config(const std::string& config_json) {
  return fit_options_from(config_json).config.dump();
}

// The key table (config_keys.hpp): path, type, default (JSON text, "" = none), range, choices,
// meaning.
nb::list config_keys() {
  nb::list out;
  for (const ef::ConfigKey& k : ef::config_keys()) {
    nb::dict d;
    d["path"] = k.path;
    d["type"] = ef::to_string(k.type);
    d["default"] = k.def;
    d["range"] = k.range.text();
    d["choices"] = k.choice_list();
    d["meaning"] = k.meaning;
    out.append(d);
  }
  return out;
}

// The column type the shared inference rule gives a column of numbers (NaN = missing).
std::string infer_type(nb::ndarray<nb::ro, const double, nb::ndim<1>, nb::device::cpu, nb::c_contig> a,
                       int categorical_max_levels) {
  return type_name(echoflow::infer_numeric_type(a.data(), a.shape(0), categorical_max_levels));
}

// Column name -> type as eftrain reads a CSV file (the same reader and inference).
std::vector<std::pair<std::string, std::string>> csv_types(const std::string& path,
                                                           int categorical_max_levels) {
  echoflow::ReadOptions ro;
  ro.categorical_max_levels = categorical_max_levels;
  Table t;
  {
    nb::gil_scoped_release release;
    t = echoflow::read_table(path, ro);
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& c : t.columns) out.emplace_back(c.name, type_name(c.type));
  return out;
}

void use_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

F64Array score(const Model& m, const Table& t, int threads) {
  std::vector<double> lp;
  {
    nb::gil_scoped_release release;
    use_threads(threads);
    lp = m.score(t);
  }
  return to_numpy(std::move(lp));
}

// Draws n rows. Returns (columns, method): columns is a list of
// (name, type, values float64 | codes int32, labels | None, missing bool | None).
nb::tuple sample(const Model& m, size_t n, const std::map<std::string, std::string>& given,
                 uint64_t seed, int threads) {
  Table t;
  ef::SampleInfo info;
  {
    nb::gil_scoped_release release;
    use_threads(threads);
    t = m.sample(n, given, seed, &info);
  }
  nb::list cols;
  for (Column& c : t.columns) {
    const std::vector<uint8_t> miss = std::move(c.missing);
    nb::object missing = nb::none();
    if (!miss.empty()) {
      auto* owned = new std::vector<uint8_t>(miss);
      nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<uint8_t>*>(p); });
      // bool is one byte holding 0 or 1: the flags are handed over as numpy bool as they are.
      missing = nb::cast(nb::ndarray<nb::numpy, bool, nb::ndim<1>>(
          reinterpret_cast<bool*>(owned->data()), {owned->size()}, owner));
    }
    if (c.type == ColumnType::Categorical) {
      std::unordered_map<std::string, int32_t> index;
      std::vector<std::string> labels;
      std::vector<int32_t> codes(c.labels.size(), -1);
      for (size_t r = 0; r < c.labels.size(); ++r) {
        if (!miss.empty() && miss[r]) continue;
        auto it = index.find(c.labels[r]);
        if (it == index.end()) {
          it = index.emplace(c.labels[r], int32_t(labels.size())).first;
          labels.push_back(c.labels[r]);
        }
        codes[r] = it->second;
      }
      cols.append(nb::make_tuple(c.name, type_name(c.type), to_numpy(std::move(codes)),
                                 nb::cast(labels), missing));
    } else {
      cols.append(nb::make_tuple(c.name, type_name(c.type), to_numpy(std::move(c.values)),
                                 nb::none(), missing));
    }
  }
  nb::dict meta;
  meta["method"] = info.method;
  meta["ess"] = info.ess;
  meta["proposals"] = info.proposals;
  return nb::make_tuple(cols, meta);
}

nb::dict training(const Model& m) {
  const ef::TrainResult& r = m.training();
  nb::dict d;
  d["epochs_run"] = r.epochs_run;
  d["best_epoch"] = r.best_epoch;
  d["best_val_nll"] = r.best_val_nll;
  d["final_train_nll"] = r.final_train_nll;
  d["stopped_early"] = r.stopped_early;
  d["n_train"] = r.n_train;
  d["n_val"] = r.n_val;
  d["seconds"] = r.seconds;
  d["categorical_model"] = r.categorical_model;
  nb::list h;
  for (auto& e : r.history) h.append(report_dict(e));
  d["history"] = h;
  return d;
}

}  // namespace

NB_MODULE(_core, mod) {
  mod.doc() = "EchoFlow C++ engine bindings (internal; use echoflow.EchoFlow)";
  mod.attr("__version__") = EF_VERSION;
  mod.def("version_string", &echoflow::version_string);
  // The flow kinds' names, from the registry (engine/flow_kinds.hpp).
  mod.def("flow_kinds", &ef::flow_kind_names);

  static nb::exception<ef::Error> ef_error(mod, "EchoFlowError", PyExc_ValueError);
  mod.def("config_keys", &config_keys);
  mod.def("check_config", &check_config, "config_json"_a);
  mod.def("infer_type", &infer_type, "values"_a, "categorical_max_levels"_a);
  mod.def("csv_types", &csv_types, "path"_a, "categorical_max_levels"_a);
  mod.def("training_summary", [](const Model& m) { return ef::training_summary(m.training()); });

  nb::class_<Table>(mod, "Table")
      .def(nb::init<>())
      .def("add_numeric", &add_numeric, "name"_a, "type"_a, "values"_a, "missing"_a = nb::none())
      .def("add_categorical", &add_categorical, "name"_a, "codes"_a, "labels"_a,
           "missing_token"_a = "")
      .def_prop_ro("rows", &Table::rows)
      .def_prop_ro("names", [](const Table& t) {
        std::vector<std::string> v;
        for (auto& c : t.columns) v.push_back(c.name);
        return v;
      })
      .def_rw("source", &Table::source);

  nb::class_<Model>(mod, "Model")
      .def_static("fit", &fit, "table"_a, "config_json"_a, "provenance_json"_a, "verbose"_a)
      .def_static("load", [](const std::string& path) {
        nb::gil_scoped_release release;
        return Model::load(path);
      })
      .def("save", [](const Model& m, const std::string& path) {
        nb::gil_scoped_release release;
        m.save(path);
      })
      .def("score", &score, "table"_a, "threads"_a = 0)
      .def("sample", &sample, "n"_a, "given"_a, "seed"_a, "threads"_a = 0)
      .def_prop_ro("training", &training)
      .def_prop_ro("column_names", &Model::column_names)
      .def_prop_ro("column_types", [](const Model& m) {
        std::map<std::string, std::string> out;
        for (auto& kv : m.column_types()) out[kv.first] = type_name(kv.second);
        return out;
      })
      .def_prop_ro("conditional", &Model::conditional);
}
