// Per-column encoders (docs/MATH.md). Each table column becomes some of:
//   - one categorical group: a categorical column's code (labels + a "missing" level when the
//     training data had missing values), or a numeric column's STATE: 0..M-1 = a value in mode
//     m (M = 1 unless the quantile map is split into modes, below), M..M+A-1 = a point-mass atom
//     (a value holding >= 10% of the rows, like capital-gain = 0, a spike far above its
//     neighbours' counts, like capital-gain = 15024, or a code of a code column, like
//     capital-gain = 3464), M+A = missing. Numeric
//     columns with one mode and neither atoms nor missing values have no state group.
//   - one continuous dim: a numeric column's encoding u of its value, through an invertible map
//     with an exact log-Jacobian, so scores are densities in ORIGINAL units:
//       x -> [dequantize: x + v, v ~ U(0,1), integers] -> [bounds: log(x - min) or
//       logit((x - min) / (max - min))] -> [marginal: standardize or a monotone piecewise-linear
//       quantile map to N(0, 1)] -> u
//     Bounds are declared (config min/max) or, by default, the observed support: the logit map
//     onto the column's observed [min, max] widened by a margin (docs/SUPPORT.md), so samples stay
//     in the range users have seen and scores stay exact densities on that interval.
//     Modes: a numeric column whose quantile map finds deep density valleys between modes is
//     split there (integers on a cell edge) (in normal-score space, thresholds mode_z); a value's mode is its state, and
//     its u is the normal score of its rank WITHIN the mode, so the categorical model learns
//     which modes go together and the flow never has to stretch one Gaussian over the empty
//     space between them (docs/MATH.md, "Modes").
//     When the state is not a value (atom or missing), u is filled with N(0, 1) noise that the
//     model learns to ignore; its density is divided out of the score (docs/MATH.md: scores of
//     such rows, like integer rows, are Jensen lower bounds estimated with fixed draws).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ef {

// A numeric column keeps at most this many point masses (the most frequent ones): 16 unless it is
// a column of codes (host/encoders.cpp), and no model file holds more.
constexpr int kMaxPointMasses = 64;

enum class ColumnType { Continuous, Integer, Categorical };
const char* to_string(ColumnType t);
ColumnType column_type_from(const std::string& s);

enum class BoundMap { None, Log, Logit };
enum class Marginal { Standardize, Quantile };
// Where an undeclared bound comes from: the observed range widened by a margin, or nowhere.
enum class Support { Observed, Unbounded };
const char* to_string(Support s);
Support support_from(const std::string& s);

// What the user (config) says about one column; unset fields are inferred.
struct ColumnOptions {
  bool has_type = false;
  ColumnType type = ColumnType::Continuous;
  bool has_min = false, has_max = false;
  double min = 0, max = 0;
  std::string encoder = "auto";  // auto | standardize | quantile
  bool has_support = false;      // set per column; otherwise FitOptions::support applies
  Support support = Support::Observed;
  double support_margin = 0.1;  // widening on each side, as a share of the observed range
  bool split_modes = true;      // encoder auto: split the quantile map at deep valleys
};

struct ColumnEncoder {
  std::string name;
  ColumnType type = ColumnType::Continuous;
  std::string missing_token;  // how missing values are written back ("" = none seen)
  bool has_missing = false;
  // categorical
  std::vector<std::string> labels;
  std::unordered_map<std::string, int> index;  // label -> code (rebuilt on load)
  // numeric
  std::vector<double> atoms;
  bool has_min = false, has_max = false;
  double min = 0, max = 0;          // declared bounds (original units)
  BoundMap bound = BoundMap::None;
  Marginal marginal = Marginal::Standardize;
  double mean = 0, sd = 1;          // standardize (after the bound map)
  std::vector<double> qx, qz;       // quantile knots: bound-mapped values -> normal scores
  double tail_slope = 1;            // quantile map beyond its knots
  std::vector<double> mode_z;       // mode thresholds (quantile map output, increasing); empty = one mode
  bool observed_support = false;    // the logit bounds were inferred from the data, not declared
  // A uniform grid over [knots[0], knots[K-1]]: first[j] = the last knot at or below cell j's
  // lower edge, so a value's segment lies between first[j] and first[j + 1] + 1.
  struct KnotIndex {
    size_t knots = 0;  // the knot count it was built for
    double lo = 0, inv_width = 0;
    std::vector<uint32_t> first;
  };
  KnotIndex qx_index, qz_index;

  // Fits a numeric column. values: present values only (NaN-free); n_missing: count of missing.
  // range_values: the values whose range the observed support must contain (every row, so
  // validation rows score finitely); nullptr = values. Throws, naming the column, when a
  // statistic would not be finite (values near the limits of double).
  static ColumnEncoder fit_numeric(const std::string& name, ColumnType type,
                                   const std::vector<double>& values, size_t n_missing,
                                   const std::string& missing_token, const ColumnOptions& opt,
                                   const std::vector<double>* range_values = nullptr);
  static ColumnEncoder fit_categorical(const std::string& name, const std::vector<std::string>& labels,
                                       const std::vector<uint8_t>& missing,
                                       const std::string& missing_token);

  bool is_categorical() const { return type == ColumnType::Categorical; }
  // Levels of this column's categorical group (0 = no group).
  int group_levels() const;
  int dims() const { return is_categorical() ? 0 : 1; }
  int missing_code() const { return group_levels() - 1; }  // valid when has_missing
  // Numeric columns: the states that are values (one per mode), and the atom a state stands for.
  int value_states() const { return 1 + int(mode_z.size()); }
  bool is_value_state(int state) const { return state < value_states(); }
  size_t atom_of(int state) const { return size_t(state - value_states()); }
  // Rows of some state get no value of their own (an atom or missing): u is filled with noise.
  bool has_fill_states() const { return !atoms.empty() || has_missing; }
  // State of a present numeric value: its mode, or value_states() + i for atom i.
  int state_of(double x) const;

  // Numeric value (already dequantized) -> u, adding log|du/dx| to *logj. -inf logj when x is
  // outside the declared bounds. With modes, u is the value's score within its mode (state_of).
  double encode(double x, double* logj) const;
  // u -> original units (integers floored, bounds respected); state: the value's mode.
  double decode(double u, int state = 0) const;
  // decode() of u[0], u[stride], ..., u[(n - 1) * stride] into out[0, n), and encode() of x[0, n)
  // into u[0, n) (logj[i] added to as encode adds to *logj): the same doubles, bit for bit, with
  // each map's branches taken once per chunk instead of once per value and the quantile segment
  // found through a grid index of the knots instead of a binary search over all of them.
  // states[i * state_stride]: row i's state (its mode; a non-value state decodes as mode 0);
  // nullptr = mode 0 for every row.
  void decode_many(const float* u, size_t stride, size_t n, double* out, const int* states = nullptr,
                   size_t state_stride = 0) const;
  void encode_many(const double* x, size_t n, double* u, double* logj) const;

  // The quantile map's output of a value (before the mode map), without the Jacobian: what
  // state_of compares with mode_z.
  double normal_score(double x) const;
  // Original-unit value at a normal score z (the inverse of normal_score), for reports.
  double value_at_score(double z) const;
  // The bound map alone (log or logit of x, or x), adding its log-derivative to *logj (-inf
  // outside the bounds): the space in which mean and sd are taken.
  double bound_value(double x, double* logj) const;
  // mean and sd after the bound map, from moments taken elsewhere (sharded data: every rank's
  // rows, host/fit_over_ranks.hpp): sd as fit_numeric adjusts it (integer cells, a floor), and
  // the quantile map's tail slope that depends on it.
  void set_scale(double mean, double sample_sd);
  void rebuild_index();
  // The grid indexes of qx and qz (decode_many / encode_many); fit_numeric and from_json build
  // them, and a stale or missing one only means a binary search.
  void build_knot_index();
  // Every statistic finite and consistent (a model file never holds null or inf); throws naming
  // the column.
  void validate() const;
};

// Inverse of the standard normal CDF (Acklam's rational approximation, one Newton step).
double normal_quantile(double p);

void to_json(nlohmann::json& j, const ColumnEncoder& e);
void from_json(const nlohmann::json& j, ColumnEncoder& e);

}  // namespace ef
