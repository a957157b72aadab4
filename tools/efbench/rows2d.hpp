// 2-D mixture rows (x0 y0 x1 y1 ...) as a two-column table and back: efbench's quality suite
// and bench_mix feed the same rows to the model.
#pragma once
#include <utility>
#include <vector>

#include <echoflow/echoflow.hpp>

namespace efbench {

inline echoflow::Table table2d(const std::vector<double>& x) {
  const size_t n = x.size() / 2;
  std::vector<double> a(n), b(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = x[2 * i];
    b[i] = x[2 * i + 1];
  }
  echoflow::Table t;
  t.columns.push_back(echoflow::Column::numeric("x", std::move(a)));
  t.columns.push_back(echoflow::Column::numeric("y", std::move(b)));
  return t;
}

inline std::vector<double> rows2d(const echoflow::Table& t) {
  const size_t n = t.rows();
  std::vector<double> x(2 * n);
  const auto& a = t.columns[t.find("x")].values;
  const auto& b = t.columns[t.find("y")].values;
  for (size_t i = 0; i < n; ++i) {
    x[2 * i] = a[i];
    x[2 * i + 1] = b[i];
  }
  return x;
}

}  // namespace efbench
