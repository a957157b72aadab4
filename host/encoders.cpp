#include "encoders.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "error.hpp"

namespace ef {

const char* to_string(ColumnType t) {
  switch (t) {
    case ColumnType::Continuous: return "continuous";
    case ColumnType::Integer: return "integer";
    default: return "categorical";
  }
}
ColumnType column_type_from(const std::string& s) {
  if (s == "continuous") return ColumnType::Continuous;
  if (s == "integer") return ColumnType::Integer;
  if (s == "categorical") return ColumnType::Categorical;
  EF_THROW("unknown column type \"", s, "\" (expected continuous, integer or categorical)");
}

ColumnEncoder ColumnEncoder::fit(const std::string& name, ColumnType type,
                                 const std::vector<double>& x) {
  EF_CHECK(!x.empty(), "column \"", name, "\": no values to fit");
  ColumnEncoder e;
  e.name = name;
  e.type = type;
  const double shift = type == ColumnType::Integer ? 0.5 : 0.0;
  double s = 0;
  for (double v : x) s += v + shift;
  e.mean = s / double(x.size());
  double ss = 0;
  for (double v : x) ss += (v + shift - e.mean) * (v + shift - e.mean);
  double sd = x.size() > 1 ? std::sqrt(ss / double(x.size() - 1)) : 0.0;
  if (type == ColumnType::Integer) sd = std::sqrt(sd * sd + 1.0 / 12.0);  // + Var U(0,1)
  // A constant column has no spread; keep the map invertible with a scale tied to its value.
  if (!(sd > 0)) sd = std::max(1e-6, 1e-6 * std::fabs(e.mean));
  e.sd = sd;
  return e;
}

double ColumnEncoder::decode(double u) const {
  const double x = u * sd + mean;
  return type == ColumnType::Integer ? std::floor(x) : x;
}
double ColumnEncoder::log_jacobian() const { return -std::log(sd); }
double ColumnEncoder::dequant_width() const {
  return type == ColumnType::Integer ? 1.0 / sd : 0.0;
}

void to_json(nlohmann::json& j, const ColumnEncoder& e) {
  j = {{"name", e.name}, {"type", to_string(e.type)}, {"encoder", "standardize"},
       {"mean", e.mean}, {"sd", e.sd}};
}
void from_json(const nlohmann::json& j, ColumnEncoder& e) {
  e.name = j.at("name").get<std::string>();
  e.type = column_type_from(j.at("type").get<std::string>());
  e.mean = j.at("mean").get<double>();
  e.sd = j.at("sd").get<double>();
  EF_CHECK(std::isfinite(e.mean) && std::isfinite(e.sd) && e.sd > 0,
           "column \"", e.name, "\": invalid encoder parameters");
}

}  // namespace ef
