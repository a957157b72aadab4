// The C API (echoflow.h) over the C++ API: every entry point catches everything and turns it into
// a status code plus a per-thread message.
#include <echoflow/echoflow.h>

#include <cmath>
#include <echoflow/echoflow.hpp>
#include <new>
#include <string>

#include "config.hpp"

struct ef_table {
  echoflow::Table t;
};
struct ef_model {
  echoflow::Model m;
};

namespace {
thread_local std::string last_error;

template <class F>
ef_status guard(F&& f) {
  try {
    f();
    return EF_OK;
  } catch (const ef::Error& e) {
    last_error = e.what();
    return EF_ERROR;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return EF_ERROR_INTERNAL;
  } catch (const std::exception& e) {
    last_error = e.what();
    return EF_ERROR_INTERNAL;
  } catch (...) {
    last_error = "unknown error";
    return EF_ERROR_INTERNAL;
  }
}
ef_status null_arg(const char* what) {
  last_error = std::string("null argument: ") + what;
  return EF_ERROR_NULL_ARG;
}
void check_new_column(const echoflow::Table& t, const std::string& name, size_t n) {
  EF_CHECK(!name.empty(), "column name is empty");
  EF_CHECK(t.find(name) < 0, "duplicate column name \"", name, "\"");
  EF_CHECK(t.columns.empty() || t.rows() == n, "column \"", name, "\" has ", n, " rows, the table has ", t.rows());
}
}  // namespace

extern "C" {

const char* ef_version(void) {
  static const std::string v = echoflow::version_string();
  return v.c_str();
}
const char* ef_last_error(void) { return last_error.c_str(); }

ef_status ef_table_create(ef_table** out) {
  if (!out) return null_arg("out");
  return guard([&] { *out = new ef_table(); });
}
void ef_table_free(ef_table* t) { delete t; }

ef_status ef_table_add_numeric(ef_table* t, const char* name, const double* values, size_t n,
                               ef_column_type type) {
  if (!t || !name || (!values && n)) return null_arg("table, name or values");
  return guard([&] {
    EF_CHECK(type == EF_CONTINUOUS || type == EF_INTEGER, "column \"", name, "\": numeric type expected");
    check_new_column(t->t, name, n);
    echoflow::Column c = echoflow::Column::numeric(
        name, std::vector<double>(values, values + n),
        type == EF_INTEGER ? ef::ColumnType::Integer : ef::ColumnType::Continuous);
    for (size_t r = 0; r < n; ++r)
      if (std::isnan(values[r])) {
        if (c.missing.empty()) c.missing.assign(n, 0);
        c.missing[r] = 1;
      } else {
        EF_CHECK(std::isfinite(values[r]), "column \"", name, "\", row ", r + 1, ": not a finite number");
        EF_CHECK(type != EF_INTEGER || values[r] == std::floor(values[r]), "column \"", name, "\", row ",
                 r + 1, ": not a whole number");
      }
    t->t.columns.push_back(std::move(c));
  });
}

ef_status ef_table_add_categorical(ef_table* t, const char* name, const char* const* labels, size_t n) {
  if (!t || !name || (!labels && n)) return null_arg("table, name or labels");
  return guard([&] {
    check_new_column(t->t, name, n);
    echoflow::Column c = echoflow::Column::categorical(name, {});
    c.labels.resize(n);
    for (size_t r = 0; r < n; ++r) {
      if (labels[r]) {
        c.labels[r] = labels[r];
      } else {
        if (c.missing.empty()) c.missing.assign(n, 0);
        c.missing[r] = 1;
      }
    }
    t->t.columns.push_back(std::move(c));
  });
}

ef_status ef_table_read_csv(const char* path, ef_table** out) {
  if (!path || !out) return null_arg("path or out");
  return guard([&] {
    auto* t = new ef_table();
    try {
      t->t = echoflow::read_table(path, echoflow::ReadOptions());
    } catch (...) {
      delete t;
      throw;
    }
    *out = t;
  });
}
ef_status ef_table_write_csv(const ef_table* t, const char* path) {
  if (!t || !path) return null_arg("table or path");
  return guard([&] { echoflow::write_table(t->t, path); });
}
size_t ef_table_rows(const ef_table* t) { return t ? t->t.rows() : 0; }
size_t ef_table_columns(const ef_table* t) { return t ? t->t.columns.size() : 0; }
const char* ef_table_column_name(const ef_table* t, size_t c) {
  return t && c < t->t.columns.size() ? t->t.columns[c].name.c_str() : nullptr;
}
ef_column_type ef_table_column_type(const ef_table* t, size_t c) {
  if (!t || c >= t->t.columns.size()) return EF_CONTINUOUS;
  switch (t->t.columns[c].type) {
    case ef::ColumnType::Integer: return EF_INTEGER;
    case ef::ColumnType::Categorical: return EF_CATEGORICAL;
    default: return EF_CONTINUOUS;
  }
}
ef_status ef_table_get_numeric(const ef_table* t, size_t c, double* out) {
  if (!t || !out) return null_arg("table or out");
  return guard([&] {
    EF_CHECK(c < t->t.columns.size(), "column index ", c, " out of range");
    const echoflow::Column& col = t->t.columns[c];
    EF_CHECK(col.type != ef::ColumnType::Categorical, "column \"", col.name, "\" is categorical");
    for (size_t r = 0; r < col.values.size(); ++r) out[r] = col.is_missing(r) ? NAN : col.values[r];
  });
}
const char* ef_table_get_label(const ef_table* t, size_t c, size_t r) {
  if (!t || c >= t->t.columns.size()) return nullptr;
  const echoflow::Column& col = t->t.columns[c];
  if (col.type != ef::ColumnType::Categorical || r >= col.labels.size() || col.is_missing(r)) return nullptr;
  return col.labels[r].c_str();
}

ef_status ef_model_fit(const ef_table* data, const char* options_json, ef_model** out) {
  if (!data || !out) return null_arg("data or out");
  return guard([&] {
    // The eftrain config parser, for a table in memory ("columns" at the top level is short for
    // data.columns).
    nlohmann::json o = options_json ? nlohmann::json::parse(options_json, nullptr, false, true)
                                    : nlohmann::json::object();
    EF_CHECK(!o.is_discarded() && o.is_object(), "options: not a JSON object");
    if (o.contains("columns")) {
      EF_CHECK(!(o.contains("data") && o["data"].is_object() && o["data"].contains("columns")),
               "options: columns given twice (top level and data.columns)");
      o["data"]["columns"] = o["columns"];
      o.erase("columns");
    }
    ef::Config c = ef::config_from_json(o, "options", "", {}, ef::ConfigFor::Table);
    const echoflow::FitOptions opt = ef::fit_options(c);
    for (auto& [name, type] : c.column_types) {
      const int k = data->t.find(name);
      EF_CHECK(k >= 0, "options: column \"", name, "\" is not in the table");
      EF_CHECK((type == ef::ColumnType::Categorical) == (data->t.columns[k].type == ef::ColumnType::Categorical),
               "options: column \"", name, "\" was added with another kind (numeric vs categorical)");
    }
    auto* m = new ef_model{echoflow::Model::fit(data->t, opt)};
    *out = m;
  });
}

ef_status ef_model_load(const char* path, ef_model** out) {
  if (!path || !out) return null_arg("path or out");
  return guard([&] { *out = new ef_model{echoflow::Model::load(path)}; });
}
ef_status ef_model_save(const ef_model* m, const char* path) {
  if (!m || !path) return null_arg("model or path");
  return guard([&] { m->m.save(path); });
}
void ef_model_free(ef_model* m) { delete m; }

ef_status ef_model_score(const ef_model* m, const ef_table* t, double* out) {
  if (!m || !t || !out) return null_arg("model, table or out");
  return guard([&] {
    const std::vector<double> lp = m->m.score(t->t);
    std::copy(lp.begin(), lp.end(), out);
  });
}

ef_status ef_model_sample(const ef_model* m, size_t n, const char* const* given_columns,
                          const char* const* given_values, size_t n_given, uint64_t seed,
                          ef_table** out) {
  if (!m || !out || (n_given && (!given_columns || !given_values))) return null_arg("model, out or given");
  return guard([&] {
    std::map<std::string, std::string> given;
    for (size_t i = 0; i < n_given; ++i) {
      EF_CHECK(given_columns[i] && given_values[i], "given pair ", i, " has a NULL string");
      EF_CHECK(given.emplace(given_columns[i], given_values[i]).second, "given column \"",
               given_columns[i], "\" repeated");
    }
    *out = new ef_table{m->m.sample(n, given, seed)};
  });
}

}  // extern "C"
