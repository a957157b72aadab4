// Per-column encoders: invertible maps from original units to the flow's space, each with an
// exact log-Jacobian, so scores are densities in ORIGINAL units:
//   log p(x) = log p_flow(u(x)) + sum_columns log|du/dx|.
// Continuous: standardization u = (x - mean) / sd, log|du/dx| = -log sd.
// Integer: uniform dequantization k + v, v ~ U(0,1), then standardization; decoding floors.
//   The score of an integer row is then an estimate of E_v log p(k + v), a lower bound on
//   log P(k) by Jensen's inequality (see docs/MATH.md).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ef {

enum class ColumnType { Continuous, Integer, Categorical };
const char* to_string(ColumnType t);
ColumnType column_type_from(const std::string& s);

struct ColumnEncoder {
  std::string name;
  ColumnType type = ColumnType::Continuous;
  double mean = 0, sd = 1;

  // Fit on the column's values (integers: on k + 1/2, the mean of the dequantized value).
  static ColumnEncoder fit(const std::string& name, ColumnType type, const std::vector<double>& x);
  double encode(double x) const { return (x - mean) / sd; }
  double decode(double u) const;
  double log_jacobian() const;       // log|du/dx|
  double dequant_width() const;      // width of one integer step in encoded units (0: none)
};

void to_json(nlohmann::json& j, const ColumnEncoder& e);
void from_json(const nlohmann::json& j, ColumnEncoder& e);

}  // namespace ef
