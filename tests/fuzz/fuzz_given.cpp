// libFuzzer target: `sample --given` values on a small fitted model (continuous, integer,
// categorical-with-missing conditional columns). Input lines are COLUMN=VALUE. Model::sample
// must either throw ef::Error or return rows whose numbers are all finite, with the given
// values written back as given.
#include <echoflow/echoflow.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz_given: invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}

const echoflow::Model& model() {
  static const echoflow::Model m = [] {
    using echoflow::Column;
    std::vector<double> x, k, y;
    std::vector<std::string> c;
    std::vector<uint8_t> cm;
    for (size_t i = 0; i < 300; ++i) {
      const double z = std::sin(double(i) * 12.9898) * 3;
      x.push_back(z);
      k.push_back(std::floor(std::fabs(z) * 2));
      y.push_back(z * z + 0.1 * std::cos(double(i)));
      c.push_back(i % 7 == 0 ? "?" : i % 3 ? "a" : "b");
      cm.push_back(i % 7 == 0);
    }
    echoflow::Table t;
    t.columns = {Column::numeric("x", x), Column::numeric("k", k, ef::ColumnType::Integer),
                 Column::categorical("c", c), Column::numeric("y", y)};
    t.columns[2].missing = cm;
    t.columns[2].missing_token = "?";
    echoflow::FitOptions o;
    o.flow.layers = 1;
    o.flow.hidden = {8};
    o.train.epochs = 1;
    o.device = "cpu";
    o.threads = 1;
    o.conditional = {"x", "k", "c"};
    return echoflow::Model::fit(t, o);
  }();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const echoflow::Model& m = model();
  std::map<std::string, std::string> given;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;  // eftrain refuses these before sampling
    given[line.substr(0, eq)] = line.substr(eq + 1);
  }
  echoflow::Table t;
  try {
    t = m.sample(4, given, 1);
  } catch (const ef::Error&) {
    return 0;
  }
  if (t.rows() != 4) fail("wrong row count");
  for (auto& col : t.columns) {
    if (col.type == ef::ColumnType::Categorical) continue;
    for (size_t r = 0; r < col.values.size(); ++r)
      if (!col.is_missing(r) && !std::isfinite(col.values[r])) fail("non-finite sample in column", col.name);
  }
  for (auto& [name, value] : given) {
    const int c = t.find(name);
    if (c < 0) fail("a given column is not in the sample", name);
    const echoflow::Column& col = t.columns[size_t(c)];
    if (col.type == ef::ColumnType::Categorical && !col.is_missing(0) && col.labels[0] != value)
      fail("a given label was not written back", name);
  }
  return 0;
}
