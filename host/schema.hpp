// The inferred schema of a training table as the model sees it: per column its type, encoder,
// levels or range, missing rate, point masses and whether `sample --given` may fix it; and the
// device training ran on (with the reason when "auto" fell back to the CPU). Built by
// Model::fit before the first epoch, stored in the model file's header ("schema"), printed by
// `eftrain train` and `eftrain info`.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "encoders.hpp"

namespace ef {

// What fit saw of one column's training values (all rows, not only the training split).
struct ColumnStats {
  size_t rows = 0, missing = 0;
  double min = 0, max = 0;               // present numeric values
  std::vector<double> atom_share;        // per encoder atom: share of all rows
  std::vector<size_t> level_count;       // categorical: rows per label (encoder order)
};

nlohmann::json column_schema(const ColumnEncoder& e, const ColumnStats& s, bool conditional);
// {"requested", "used", "reason"}: reason says why "auto" (or "cpu") runs on the CPU.
nlohmann::json device_schema(const std::string& requested);
// The schema as a text table (one line per column, then the device line).
std::string format_schema(const nlohmann::json& schema);

}  // namespace ef
