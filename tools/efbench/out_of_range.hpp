// Issue 16's support check on synthetic rows, the same definition as bench/tabular/support.py
// (the peers' figure): for each numeric column of the real table, [lo, hi] = its smallest and
// largest value (missing values ignored); a synthetic row is out of range when any numeric value
// lies outside its column's [lo, hi]; a value's excess is its distance to [lo, hi] over hi - lo.
// The default observed support (docs/MATH.md) allows up to 0.1 of the range beyond each end, so a
// worst excess above 0.1 means samples left the support.
#pragma once
#include <echoflow/echoflow.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace efbench {

struct OutOfRange {
  double share = 0;    // synthetic rows with any numeric value outside the real [lo, hi]
  double worst = 0;    // largest excess, as a fraction of hi - lo
  std::string column;  // where the worst excess is ("" when none)
  size_t columns = 0;  // numeric columns checked
};

inline OutOfRange out_of_range(const echoflow::Table& real, const echoflow::Table& syn) {
  OutOfRange o;
  const size_t n = syn.rows();
  std::vector<uint8_t> out(n, 0);
  for (const echoflow::Column& rc : real.columns) {
    if (rc.type == echoflow::ColumnType::Categorical) continue;
    const int j = syn.find(rc.name);
    if (j < 0) continue;
    const echoflow::Column& sc = syn.columns[size_t(j)];
    bool any = false;
    double lo = 0, hi = 0;
    for (size_t r = 0; r < rc.values.size(); ++r) {
      if (rc.is_missing(r)) continue;
      lo = any ? std::min(lo, rc.values[r]) : rc.values[r];
      hi = any ? std::max(hi, rc.values[r]) : rc.values[r];
      any = true;
    }
    if (!any) continue;
    ++o.columns;
    const double width = hi > lo ? hi - lo : 1.0;
    for (size_t r = 0; r < n && r < sc.values.size(); ++r) {
      if (sc.is_missing(r)) continue;
      const double e = std::max(lo - sc.values[r], sc.values[r] - hi);
      if (!(e > 0)) continue;
      out[r] = 1;
      if (e / width > o.worst) {
        o.worst = e / width;
        o.column = rc.name;
      }
    }
  }
  size_t k = 0;
  for (uint8_t f : out) k += f;
  o.share = n ? double(k) / double(n) : 0.0;
  return o;
}

}  // namespace efbench
