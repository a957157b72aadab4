#include "encoders.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
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

const char* to_string(Support s) { return s == Support::Observed ? "observed" : "unbounded"; }
Support support_from(const std::string& s) {
  if (s == "observed") return Support::Observed;
  if (s == "unbounded") return Support::Unbounded;
  EF_THROW("unknown support \"", s, "\" (expected observed or unbounded)");
}

double normal_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  EF_CHECK(p > 0 && p < 1, "normal_quantile: p must be in (0, 1)");
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;  // one Newton step
  return x - e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
}

namespace {
constexpr double kAtomShare = 0.10;  // a value holding >= 10% of present rows is a point mass
// So is a spike: a value repeated far more often than the values next to it (a heaped
// hours-per-week of 50, a capital-gain of 15024 or 99999, ages top-coded at 90). The flow would
// have to draw a cell of width one out of a smooth density, and it learns such a cell's tie to
// other columns poorly (adult's income given its capital gain); as a state, the categorical model
// learns it exactly. A spike holds >= kSpikeShare of the present values and >= kSpikeMinRows rows,
// and >= kSpikeRatio times the mean count of its kSpikeNeighbours nearest distinct values on each
// side that are not point masses themselves, so the peak of a smooth column (age 36) is none.
constexpr double kSpikeShare = 0.001;
constexpr int kSpikeMinRows = 30;
constexpr double kSpikeRatio = 3;
constexpr size_t kSpikeNeighbours = 2;
constexpr int kSpikePasses = 8;
// A column that is not a code column (below) keeps at most this many point masses, the most
// frequent (a looser spike rule with up to 48 drew adult rows of lower ML efficacy).
constexpr size_t kMaxSpikeMasses = 16;
// A code column: an integer column whose values outside those point masses are a few codes
// repeated many times, sparse on the integers between them (adult's capital-gain: ~100 distinct
// gains between 114 and 41310, ~7 rows each). Each code's tie to other columns is its own (below
// ~4,600 dollars of gain no adult row earns >50K, above ~7,000 most do), which the flow, drawing
// cells of width one out of a smooth density, loses. So every code in >= kCodeMinRows rows is a
// point mass too. Sparse: the distinct values cover at most kCodeMaxCover of the integers in their
// range, and hold >= kCodeMinRepeats rows each on average. Few: with the codes the column has at
// most kMaxPointMasses point masses. A column of more codes is left as it was: KDD Cup's
// src_bytes (20,000 rows: 147 codes in >= 8 rows), with its 63 most frequent codes as point
// masses, lost 0.55 nats a row of held-out likelihood (bench/results/QUALITY_DEFAULTS.md, "Codes").
constexpr size_t kCodeMinRows = 8;
constexpr double kCodeMaxCover = 0.1;
constexpr double kCodeMinRepeats = 4;
// States drawn from a column's shape (spikes, modes) need this many values: on a 1,600-row table
// (KDD Cup, 1,120 training rows) spikes cost 3.4 nats a row of held-out likelihood and mode
// splits 1.2-1.3, while adult (29,000 values) gained 0.55 from spikes and a 3,000-row mixture
// from modes (bench/results/QUALITY_DEFAULTS.md, "Spikes" and "Modes"). Spikes count the present
// values, modes the values outside the point masses.
constexpr size_t kStatesMinValues = 2000;
// Quantile knots: one per ~25 training values, between 16 and 1024, plus knots around gaps (below).
// Each segment's slope is estimated from the m values it spans, and that noise costs held-out rows
// about 1/(2m) nats per column, which the flow on top does not learn back (m = 10: 0.05); but
// coarse segments also spread mass over a mode's steep flanks, so draws land off the modes.
constexpr int kRowsPerKnot = 25, kMinKnots = 16, kMaxKnots = 1024;

// The bounded-domain map and its log-derivative.
double bound_map(const ColumnEncoder& e, double x, double* logj) {
  switch (e.bound) {
    case BoundMap::None: return x;
    case BoundMap::Log: {
      const double d = x - e.min;
      if (!(d > 0)) { *logj = -INFINITY; return 0; }
      *logj -= std::log(d);
      return std::log(d);
    }
    case BoundMap::Logit: {
      const double w = e.max - e.min, y = (x - e.min) / w;
      if (!(y > 0 && y < 1)) { *logj = -INFINITY; return 0; }
      *logj -= std::log(w) + std::log(y) + std::log1p(-y);
      return std::log(y) - std::log1p(-y);
    }
  }
  return x;
}
double bound_unmap(const ColumnEncoder& e, double t) {
  switch (e.bound) {
    case BoundMap::None: return t;
    case BoundMap::Log: return e.min + std::exp(t);
    case BoundMap::Logit: return e.min + (e.max - e.min) / (1 + std::exp(-t));
  }
  return t;
}
}  // namespace

int ColumnEncoder::group_levels() const {
  if (is_categorical()) return int(labels.size()) + (has_missing ? 1 : 0);
  const int states = value_states() + int(atoms.size()) + (has_missing ? 1 : 0);
  return states > 1 ? states : 0;
}

int ColumnEncoder::state_of(double x) const {
  for (size_t i = 0; i < atoms.size(); ++i)
    if (x == atoms[i]) return value_states() + int(i);
  if (mode_z.empty()) return 0;
  return int(std::upper_bound(mode_z.begin(), mode_z.end(), normal_score(x)) - mode_z.begin());
}

namespace {
double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }   // P(Z <= z)
double Qf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }     // P(Z > z)
constexpr double kTinyP = 1e-300;  // a probability at a mode's very edge: u finite (about -37)

// Mode m of thresholds mz spans normal scores [a, b); its mass P(a <= Z < b) is taken from
// whichever tail keeps the subtraction exact.
struct ModeSpan {
  double a, b, mass;
};
ModeSpan mode_span(const std::vector<double>& mz, int m) {
  ModeSpan s;
  s.a = m == 0 ? -INFINITY : mz[size_t(m - 1)];
  s.b = size_t(m) == mz.size() ? INFINITY : mz[size_t(m)];
  s.mass = s.a >= 0 ? Qf(s.a) - Qf(s.b) : s.b <= 0 ? Phi(s.b) - Phi(s.a) : 1 - Phi(s.a) - Qf(s.b);
  return s;
}

// z in mode span s -> u = Phi^-1(P(a <= Z < z) / mass), adding log du/dz. The masses below and
// above z are each taken from the side where they are small, so u stays exact near both edges.
double to_mode(const ModeSpan& s, double z, double* logj) {
  const double below = z <= 0 ? Phi(z) - Phi(s.a) : s.a >= 0 ? Qf(s.a) - Qf(z) : Phi(z) - Phi(s.a);
  const double above = z >= 0 ? Qf(z) - Qf(s.b) : s.b <= 0 ? Phi(s.b) - Phi(z) : Qf(z) - Qf(s.b);
  const double p = below / s.mass, q = above / s.mass;
  const double u = p < q ? normal_quantile(std::clamp(p, kTinyP, 0.5)) : -normal_quantile(std::clamp(q, kTinyP, 0.5));
  *logj += 0.5 * (u * u - z * z) - std::log(s.mass);  // log phi(z) - log phi(u) - log mass
  return u;
}
// The inverse: u -> z in [a, b] (NaN, from an overflowed flow, stays NaN for the caller).
double from_mode(const ModeSpan& s, double u) {
  if (u != u) return u;
  const double below = Phi(s.a) + Phi(u) * s.mass;  // P(Z <= z)
  double z;
  if (below < 0.5) {
    z = normal_quantile(std::max(below, kTinyP));
  } else {
    const double above = Qf(s.b) + Qf(u) * s.mass;  // P(Z > z)
    z = -normal_quantile(std::clamp(above, kTinyP, 0.5));
  }
  return std::clamp(z, s.a, s.b);
}

// Modes: where the quantile map's density has a deep valley between two modes, a threshold in
// normal-score space splits the column there (ColumnEncoder::mode_z). The density of knot
// segment k is its mass over its width; each segment's estimate is smoothed with its two
// neighbours (about 75 training values), so a valley 5x below both sides' peaks is beyond what
// the noise of a smooth density reaches (on gridr's columns noise dips stayed above 0.25 of the
// peaks, its real valleys below 0.1).
constexpr double kValleyRatio = 0.2;     // valley density below this share of both sides' peaks
constexpr double kMinModeShare = 0.02;   // every mode keeps at least this share of the values
constexpr double kMinModeValues = 50;    // ... and at least this many
constexpr size_t kMaxModes = 16;

struct ModeSplit {
  double z;      // threshold (normal score)
  double depth;  // valley density over the lower of the two sides' peaks
};

// Splits knot segments [lo, hi) at their deepest valley, then each side likewise: a valley is
// measured against the peaks on its two sides within the range, so a dip on the flank of a mode
// already split off is not taken for a second valley.
void split_at_valleys(const std::vector<double>& qz, const std::vector<double>& dens, size_t lo, size_t hi,
                      double z_lo, double z_hi, double min_share, std::vector<ModeSplit>& out) {
  if (hi - lo < 3) return;
  std::vector<double> left(hi - lo, 0.0), right(hi - lo, 0.0);  // highest density before / after k
  for (size_t k = lo + 1; k < hi; ++k) left[k - lo] = std::max(left[k - lo - 1], dens[k - 1]);
  for (size_t k = hi - 1; k-- > lo;) right[k - lo] = std::max(right[k - lo + 1], dens[k + 1]);
  auto mass = [](double a, double b) { return a >= 0 ? Qf(a) - Qf(b) : Phi(b) - Phi(a); };
  size_t best = SIZE_MAX;
  double best_depth = kValleyRatio;
  for (size_t k = lo + 1; k + 1 < hi; ++k) {
    const double side = std::min(left[k - lo], right[k - lo]);
    if (!(side > 0) || !(dens[k] < best_depth * side)) continue;
    const double c = 0.5 * (qz[k] + qz[k + 1]);
    if (mass(z_lo, c) < min_share || mass(c, z_hi) < min_share) continue;
    best = k;
    best_depth = dens[k] / side;
  }
  if (best == SIZE_MAX) return;
  const double c = 0.5 * (qz[best] + qz[best + 1]);
  out.push_back({c, best_depth});
  split_at_valleys(qz, dens, lo, best, z_lo, c, min_share, out);
  split_at_valleys(qz, dens, best + 1, hi, c, z_hi, min_share, out);
}

std::vector<double> mode_thresholds(const std::vector<double>& qx, const std::vector<double>& qz, size_t n) {
  const size_t K = qx.size() - 1;  // knot segments
  if (K < 5 || n < kStatesMinValues) return {};
  std::vector<double> mass(K), width(K), dens(K);
  for (size_t k = 0; k < K; ++k) {
    mass[k] = qz[k + 1] <= 0 ? Phi(qz[k + 1]) - Phi(qz[k]) : Qf(qz[k]) - Qf(qz[k + 1]);
    width[k] = qx[k + 1] - qx[k];
  }
  for (size_t k = 0; k < K; ++k) {
    const size_t a = k == 0 ? 0 : k - 1, b = std::min(K - 1, k + 1);
    double m = 0, w = 0;
    for (size_t j = a; j <= b; ++j) m += mass[j], w += width[j];
    dens[k] = m / w;
  }
  std::vector<ModeSplit> splits;
  split_at_valleys(qz, dens, 0, K, -INFINITY, INFINITY, std::max(kMinModeShare, kMinModeValues / double(n)), splits);
  // The deepest valleys when there are more than the states allow.
  std::sort(splits.begin(), splits.end(), [](const ModeSplit& a, const ModeSplit& b) { return a.depth < b.depth; });
  if (splits.size() > kMaxModes - 1) splits.resize(kMaxModes - 1);
  std::vector<double> z;
  for (const ModeSplit& m : splits) z.push_back(m.z);
  std::sort(z.begin(), z.end());
  return z;
}

// Mean, standard deviation, skewness and excess kurtosis of t, computed on t / max|t| so that
// squares and fourth powers cannot overflow (values near 1e170 and above).
struct Moments {
  double mean = 0, sd = 0, skew = 0, exkurt = 0;
};
Moments moments(const std::vector<double>& t) {
  double scale = 0;
  for (double v : t) scale = std::max(scale, std::fabs(v));
  if (!(scale > 0)) scale = 1;
  const double n = double(t.size());
  double s = 0;
  for (double v : t) s += v / scale;
  const double m = s / n;  // mean / scale, in [-1, 1]
  double ss = 0, s3 = 0, s4 = 0;
  for (double v : t) {
    const double d = v / scale - m, d2 = d * d;
    ss += d2;
    s3 += d2 * d;
    s4 += d2 * d2;
  }
  Moments r;
  r.mean = m * scale;
  r.sd = t.size() > 1 ? std::sqrt(ss / (n - 1)) * scale : 0.0;
  const double m2 = ss / n;
  if (t.size() > 2 && m2 > 0) r.skew = (s3 / n) / std::pow(m2, 1.5);
  if (t.size() > 3 && m2 > 0) r.exkurt = (s4 / n) / (m2 * m2) - 3.0;
  return r;
}

// The observed support of the continuous remainder (values that are not atoms): [lo, hi] widened
// by margin * (hi - lo) on each side (integers: floor(margin * (hi - lo) / 2) whole units, so a
// column of 0..16 keeps exactly 0..16 at the default margin). The widening never reaches 0 from a one-signed column:
// positive values are never sampled <= 0 (integers: a column of values >= 1 stays >= 1, one of
// values >= 0 stays >= 0), and likewise for negative ones. Returns false when there is no remainder. Integer bounds are cell bounds:
// values k in [a, b] dequantize into [a, b + 1).
bool observed_range(const ColumnEncoder& e, const std::vector<double>& range_values, double margin,
                      double* lo, double* hi) {
  double a = INFINITY, b = -INFINITY;
  for (double v : range_values) {
    if (!e.is_value_state(e.state_of(v))) continue;
    a = std::min(a, v);
    b = std::max(b, v);
  }
  if (!(a <= b)) return false;
  const double range = b - a;
  EF_CHECK(std::isfinite(range), "column \"", e.name, "\": values span [", a, ", ", b,
           "], wider than double precision can encode; rescale the column");
  const bool integer = e.type == ColumnType::Integer;
  double w = margin * range;
  if (integer) {
    // Half the margin, whole units: a count of 0..16 keeps exactly 0..16 at the default.
    w = std::floor(0.5 * w);
  } else {
    // Continuous values must lie strictly inside the open interval, so even margin 0 widens by a
    // relative hair (a constant column gets a width too).
    w = std::max(w, 1e-9 * std::max({range, std::fabs(a), std::fabs(b), 1e-300}));
  }
  double vlo = a - w, vhi = b + w;
  if (integer) {  // all >= 1 stays >= 1, all >= 0 stays >= 0 (and mirrored)
    if (a >= 0) vlo = std::max(vlo, std::min(a, 1.0));
    if (b <= 0) vhi = std::min(vhi, std::max(b, -1.0));
  } else {  // an open interval: all > 0 stays > 0
    if (a > 0) vlo = std::max(vlo, 0.0);
    if (b < 0) vhi = std::min(vhi, 0.0);
  }
  *lo = vlo;
  *hi = integer ? vhi + 1 : vhi;
  EF_CHECK(std::isfinite(*lo) && std::isfinite(*hi) && std::isfinite(*hi - *lo), "column \"", e.name,
           "\": the observed range [", a, ", ", b, "] widened by the support margin overflows; "
           "rescale the column or set data.support to \"unbounded\"");
  return true;
}
}  // namespace

ColumnEncoder ColumnEncoder::fit_numeric(const std::string& name, ColumnType type,
                                         const std::vector<double>& values, size_t n_missing,
                                         const std::string& missing_token, const ColumnOptions& opt,
                                         const std::vector<double>* range_values) {
  ColumnEncoder e;
  e.name = name;
  e.type = type;
  e.has_missing = n_missing > 0;
  e.missing_token = missing_token;
  e.has_min = opt.has_min;
  e.has_max = opt.has_max;
  e.min = opt.min;
  e.max = opt.max;
  if (opt.encoder != "auto" && opt.encoder != "quantile" && opt.encoder != "standardize")
    EF_THROW("column \"", name, "\": unknown encoder \"", opt.encoder, "\" (auto, standardize, quantile)");
  EF_CHECK(std::isfinite(opt.support_margin) && opt.support_margin >= 0, "column \"", name,
           "\": the support margin must be a finite number >= 0");
  for (double v : values)
    EF_CHECK(std::isfinite(v), "column \"", name, "\": a value is not a finite number");
  // Integers live on [k, k+1) after dequantization, so an integer max M bounds k + v by M + 1.
  const double hi = type == ColumnType::Integer ? e.max + 1 : e.max;
  if (e.has_min && e.has_max) {
    EF_CHECK(hi > e.min, "column \"", name, "\": max must be greater than min");
    e.bound = BoundMap::Logit;
    e.max = hi;
  } else if (e.has_min) {
    e.bound = BoundMap::Log;
  } else if (e.has_max) {
    EF_THROW("column \"", name, "\": a max without a min is not supported; give both");
  }
  // Point masses: the distinct values in ascending order with their counts, by a sort and runs
  // of equal values (a std::map of counts cost ~0.3 s serial CPU for 64 columns of 20k rows,
  // bench/results/e2e_startup_2026-11-30.md). Equal finite doubles have equal bits except -0.0
  // and 0.0: their run takes the sign of the first zero in input order, as the map's key did.
  std::vector<double> sorted(values);
  std::sort(sorted.begin(), sorted.end());
  const auto first_zero = std::find(values.begin(), values.end(), 0.0);
  std::vector<std::pair<size_t, double>> runs, frequent;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const size_t c = j - i;
    const double v = sorted[i] == 0.0 ? *first_zero : sorted[i];
    runs.push_back({c, v});
    i = j;
  }
  const size_t distinct = runs.size();
  const double n_values = double(values.size());
  // point[i]: run i is a point mass. Spikes are found in passes until none is added, each
  // measured against neighbours that are not point masses, so of two spikes side by side (adult's
  // capital-loss 1887 and 1902) the larger does not hide the smaller. Only candidates (at most
  // 1 / kSpikeShare values) are visited, in at most kSpikePasses passes: bounded work on any column.
  const bool shape_states = values.size() >= kStatesMinValues;  // spikes and codes
  std::vector<uint8_t> point(distinct, 0);
  std::vector<size_t> candidates;
  for (size_t i = 0; i < distinct; ++i) {
    const double c = double(runs[i].first);
    point[i] = c >= kAtomShare * n_values && runs[i].first >= 2;
    if (shape_states && !point[i] && c >= kSpikeShare * n_values && c >= kSpikeMinRows) candidates.push_back(i);
  }
  for (int pass = 0; pass < kSpikePasses && !candidates.empty(); ++pass) {
    std::vector<size_t> added;  // marked after the pass: each pass sees the previous one's masses
    for (size_t i : candidates) {
      if (point[i]) continue;
      double sum = 0;
      size_t k = 0;
      for (size_t j = i, left = 0; j-- > 0 && left < kSpikeNeighbours;)
        if (!point[j]) sum += double(runs[j].first), ++left, ++k;
      for (size_t j = i + 1, right = 0; j < distinct && right < kSpikeNeighbours; ++j)
        if (!point[j]) sum += double(runs[j].first), ++right, ++k;
      if (k > 0 && double(runs[i].first) >= kSpikeRatio * sum / double(k)) added.push_back(i);
    }
    if (added.empty()) break;
    for (size_t i : added) point[i] = 1;
  }
  size_t cap = kMaxSpikeMasses;
  if (type == ColumnType::Integer && shape_states) {
    size_t codes = 0, rows = 0, masses = 0;  // masses: the point masses with the codes
    double lo = 0, hi_code = 0;
    for (size_t i = 0; i < distinct; ++i) {
      masses += point[i] || runs[i].first >= kCodeMinRows;
      if (point[i]) continue;
      if (codes++ == 0) lo = runs[i].second;
      hi_code = runs[i].second;
      rows += runs[i].first;
    }
    if (codes > 0 && double(codes) <= kCodeMaxCover * (hi_code - lo + 1) &&
        double(rows) >= kCodeMinRepeats * double(codes) && masses <= size_t(kMaxPointMasses)) {
      for (size_t i = 0; i < distinct; ++i)
        if (runs[i].first >= kCodeMinRows) point[i] = 1;
      cap = kMaxPointMasses;
    }
  }
  for (size_t i = 0; i < distinct; ++i)
    if (point[i]) frequent.push_back(runs[i]);
  std::sort(frequent.rbegin(), frequent.rend());
  if (frequent.size() > cap) frequent.resize(cap);
  // Keep a continuous remainder: do not turn every distinct value into an atom.
  if (frequent.size() == distinct && !frequent.empty()) frequent.pop_back();
  for (auto& f : frequent) e.atoms.push_back(f.second);
  std::sort(e.atoms.begin(), e.atoms.end());

  // Undeclared ends: the observed support (a declared min keeps its end, the observed max side
  // is added). Atoms are drawn exactly, so only the remainder needs the interval.
  if (opt.support == Support::Observed && !(e.has_min && e.has_max)) {
    double lo, hi_s;
    if (observed_range(e, range_values ? *range_values : values, opt.support_margin, &lo, &hi_s)) {
      if (e.has_min) lo = e.min;  // observed values are >= the declared min (checked by the caller)
      if (hi_s > lo) {
        e.bound = BoundMap::Logit;
        e.min = lo;
        e.max = hi_s;
        e.observed_support = true;
      }
    }
  }

  // The continuous remainder, through the bound map (at the midpoint of integer cells).
  std::vector<double> t;
  for (double v : values) {
    if (!e.is_value_state(e.state_of(v))) continue;
    double lj = 0;
    const double x = type == ColumnType::Integer ? v + 0.5 : v;
    const double m = bound_map(e, x, &lj);
    if (std::isfinite(lj)) t.push_back(m);
  }
  if (t.empty()) t.push_back(0.0);
  const Moments mo = moments(t);
  e.set_scale(mo.mean, mo.sd);
  // Default rule: a marginal far from normal (skewed, heavy-tailed, or flat/multimodal, like a
  // mixture of separated modes) gets the quantile map; near-normal ones are standardized.
  const bool non_normal = std::fabs(mo.skew) > 1.0 || mo.exkurt > 3.0 || mo.exkurt < -1.0;
  const bool quantile = opt.encoder == "quantile" || (opt.encoder == "auto" && non_normal && t.size() >= 50);
  if (quantile) {
    std::sort(t.begin(), t.end());
    // Knots at evenly spaced probabilities: the value at rank position r (interpolated) maps to
    // Phi^-1(r / (n - 1)).
    const double last = double(t.size() - 1);
    auto at_rank = [&](double pos) {
      const size_t i = size_t(pos);
      const double frac = pos - double(i);
      return i + 1 < t.size() ? t[i] * (1 - frac) + t[i + 1] * frac : t[i];
    };
    const int K = std::clamp(int(t.size() / kRowsPerKnot), kMinKnots, kMaxKnots);
    std::vector<double> pos;  // rank positions of the knots
    for (int k = 0; k < K; ++k) pos.push_back((k + 0.5) / K * last);
    if (type == ColumnType::Continuous && t.size() >= 4) {
      // Gaps: a segment whose largest spacing between consecutive values is over half its width
      // spans empty space (between two modes). Knots on both sides of that spacing leave it 1/(n-1)
      // of the mass instead of the segment's share, so draws do not fall between the modes. A
      // smooth density almost never has such a spacing among kRowsPerKnot values, so the knots
      // stay coarse (low slope noise) there. Integer columns are skipped: their training values
      // are spread over whole cells, so their spacings are not gaps.
      std::vector<double> extra;
      double a = 0;
      for (size_t k = 0; k <= pos.size(); ++k) {
        const double b = k < pos.size() ? pos[k] : last;
        const size_t i0 = size_t(std::ceil(a)), i1 = size_t(std::floor(b));
        const double width = at_rank(b) - at_rank(a);
        size_t best = i0;
        for (size_t i = i0; i < i1; ++i)
          if (t[i + 1] - t[i] > t[best + 1] - t[best]) best = i;
        if (i1 > i0 && width > 0 && t[best + 1] - t[best] > 0.5 * width) {
          if (best >= 1) extra.push_back(double(best));
          if (best + 1 <= t.size() - 2) extra.push_back(double(best + 1));
        }
        a = b;
      }
      pos.insert(pos.end(), extra.begin(), extra.end());
      std::sort(pos.begin(), pos.end());
    }
    // Equal quantiles collapse, so knots strictly increase.
    for (double r : pos) {
      const double x = at_rank(r);
      const double z = normal_quantile(r / last);
      if (e.qx.empty() || (x > e.qx.back() + 1e-12 * (1 + std::fabs(x)) && z > e.qz.back())) {
        e.qx.push_back(x);
        e.qz.push_back(z);
      }
    }
    // End knots at the smallest and largest value (probabilities 1/2n and 1 - 1/2n), so the
    // whole training range maps into about +-4 normal scores. Without them a heavy tail's
    // extremes (Cauchy: values 1000x the quartiles) went through the 1/sd linear tail to u in
    // the hundreds and scored thousands of nats too low.
    const double n = double(t.size());
    if (!e.qx.empty() && t.front() < e.qx.front() && normal_quantile(0.5 / n) < e.qz.front()) {
      e.qx.insert(e.qx.begin(), t.front());
      e.qz.insert(e.qz.begin(), normal_quantile(0.5 / n));
    }
    if (!e.qx.empty() && t.back() > e.qx.back() && normal_quantile(1 - 0.5 / n) > e.qz.back()) {
      e.qx.push_back(t.back());
      e.qz.push_back(normal_quantile(1 - 0.5 / n));
    }
    if (e.qx.size() >= 3) {
      e.marginal = Marginal::Quantile;
      e.set_scale(e.mean, mo.sd);  // the tail slope
      if (opt.split_modes && opt.encoder == "auto") {
        e.mode_z = mode_thresholds(e.qx, e.qz, t.size());
        // An integer column splits on a cell edge: the score of the integer k* itself (a cell
        // [k, k + 1) is then wholly in one mode, so a value's mode is known before it is
        // dequantized, and its dequantized values keep it).
        if (type == ColumnType::Integer) {
          std::vector<double> cells;
          for (double z : e.mode_z) {
            const double edge = std::round(e.value_at_score(z));
            const double zc = e.normal_score(edge);
            if (std::isfinite(zc) && (cells.empty() || zc > cells.back())) cells.push_back(zc);
          }
          e.mode_z = cells;
        }
      }
    } else {
      e.qx.clear();
      e.qz.clear();
    }
  }
  e.validate();
  e.build_knot_index();
  return e;
}

double ColumnEncoder::bound_value(double x, double* logj) const { return bound_map(*this, x, logj); }

void ColumnEncoder::set_scale(double m, double sample_sd) {
  mean = m;
  double s = sample_sd;
  // Integer cells add U(0,1) spread (through the bound map this is approximate; it only sets a
  // scale).
  if (type == ColumnType::Integer && bound == BoundMap::None) s = std::hypot(s, std::sqrt(1.0 / 12.0));
  if (!(s > 0)) s = std::max(1e-6, 1e-6 * std::fabs(mean));
  sd = s;
  if (marginal == Marginal::Quantile) {
    // Beyond the end knots: no steeper than the end segments, so a value just past the
    // training range is not sent far out either.
    const size_t L = qx.size();
    const double s_lo = (qz[1] - qz[0]) / (qx[1] - qx[0]);
    const double s_hi = (qz[L - 1] - qz[L - 2]) / (qx[L - 1] - qx[L - 2]);
    tail_slope = std::min({1.0 / sd, s_lo, s_hi});
  }
}

void ColumnEncoder::validate() const {
  if (is_categorical()) {
    EF_CHECK(index.size() == labels.size(), "column \"", name, "\": duplicate labels");
    EF_CHECK(group_levels() >= 1, "column \"", name, "\": no levels");
    return;
  }
  auto finite = [&](double v, const char* what) {
    EF_CHECK(std::isfinite(v), "column \"", name, "\": the encoder's ", what, " is not a finite number (",
             v, "); values this large cannot be encoded: rescale the column");
  };
  finite(mean, "mean");
  finite(sd, "standard deviation");
  finite(tail_slope, "tail slope");
  finite(min, "lower bound");
  finite(max, "upper bound");
  EF_CHECK(sd > 0 && tail_slope > 0, "column \"", name, "\": invalid encoder parameters");
  EF_CHECK(std::isfinite(std::log(sd)) && std::isfinite(std::log(tail_slope)), "column \"", name,
           "\": the encoder's scale is outside the range of double");
  EF_CHECK(atoms.size() <= size_t(kMaxPointMasses), "column \"", name, "\": too many atoms");
  for (double a : atoms) finite(a, "point mass");
  if (marginal == Marginal::Quantile) {
    EF_CHECK(qx.size() == qz.size() && qx.size() >= 2, "column \"", name, "\": bad quantile knots");
    for (size_t k = 0; k < qx.size(); ++k) {
      finite(qx[k], "quantile knot");
      finite(qz[k], "quantile knot");
    }
    for (size_t k = 1; k < qx.size(); ++k) {
      EF_CHECK(qx[k] > qx[k - 1] && qz[k] > qz[k - 1], "column \"", name, "\": quantile knots not increasing");
      const double slope = (qz[k] - qz[k - 1]) / (qx[k] - qx[k - 1]);
      EF_CHECK(std::isfinite(std::log(slope)), "column \"", name,
               "\": a quantile segment's slope is outside the range of double; rescale the column");
    }
  }
  if (!mode_z.empty()) {
    EF_CHECK(marginal == Marginal::Quantile && mode_z.size() < kMaxModes, "column \"", name,
             "\": modes on a column without a quantile map, or too many");
    for (size_t k = 0; k < mode_z.size(); ++k) {
      finite(mode_z[k], "mode threshold");
      EF_CHECK(k == 0 || mode_z[k] > mode_z[k - 1], "column \"", name, "\": mode thresholds not increasing");
      EF_CHECK(std::fabs(mode_z[k]) < 30, "column \"", name, "\": a mode threshold beyond 30 normal scores");
    }
    for (int m = 0; m < value_states(); ++m)
      EF_CHECK(mode_span(mode_z, m).mass > 0, "column \"", name, "\": a mode with no mass");
  }
  if (bound == BoundMap::Logit)
    EF_CHECK(max > min && std::isfinite(max - min), "column \"", name, "\": bad bounds");
}

ColumnEncoder ColumnEncoder::fit_categorical(const std::string& name,
                                             const std::vector<std::string>& labels,
                                             const std::vector<uint8_t>& missing,
                                             const std::string& missing_token) {
  ColumnEncoder e;
  e.name = name;
  e.type = ColumnType::Categorical;
  e.missing_token = missing_token;
  std::map<std::string, size_t> counts;
  for (size_t r = 0; r < labels.size(); ++r) {
    if (!missing.empty() && missing[r]) {
      e.has_missing = true;
      continue;
    }
    ++counts[labels[r]];
  }
  for (auto& kv : counts) e.labels.push_back(kv.first);  // sorted: codes do not depend on row order
  EF_CHECK(!e.labels.empty() || e.has_missing, "column \"", name, "\": no values");
  e.rebuild_index();
  return e;
}

namespace {

void build_grid(const std::vector<double>& knots, ColumnEncoder::KnotIndex& ix) {
  ix = {};
  const size_t K = knots.size();
  if (K < 3) return;
  const size_t cells = 4 * K;
  const double width = knots[K - 1] - knots[0];
  if (!(width > 0) || !std::isfinite(double(cells) / width)) return;
  ix.lo = knots[0];
  ix.inv_width = double(cells) / width;
  ix.first.resize(cells + 1);
  for (size_t j = 0; j <= cells; ++j) {
    const double edge = knots[0] + double(j) / ix.inv_width;
    const size_t k = size_t(std::upper_bound(knots.begin(), knots.end(), edge) - knots.begin());
    ix.first[j] = uint32_t(std::min(k == 0 ? 0 : k - 1, K - 2));
  }
  ix.knots = K;
}

// The k with knots[k] <= v < knots[k + 1], for knots[0] < v < knots[K - 1]: what
// upper_bound(knots, v) - 1 gives, found in v's grid cell (a binary search inside the cell when
// it holds many knots); the two loops correct a cell computed one off by rounding.
size_t segment(const std::vector<double>& knots, const ColumnEncoder::KnotIndex& ix, double v) {
  const size_t K = knots.size();
  if (ix.knots != K)
    return size_t(std::upper_bound(knots.begin(), knots.end(), v) - knots.begin()) - 1;
  const double c = (v - ix.lo) * ix.inv_width;
  const size_t cells = ix.first.size() - 1;
  const size_t j = c > 0 ? std::min(size_t(c), cells - 1) : 0;
  size_t k = ix.first[j];
  const size_t hi = std::min<size_t>(ix.first[j + 1] + 2, K);
  if (hi - k > 8) k = size_t(std::upper_bound(knots.begin() + long(k), knots.begin() + long(hi), v) - knots.begin()) - 1;
  while (k > 0 && knots[k] > v) --k;
  while (knots[k + 1] <= v) ++k;
  return k;
}

}  // namespace

void ColumnEncoder::build_knot_index() {
  build_grid(qx, qx_index);
  build_grid(qz, qz_index);
}

void ColumnEncoder::decode_many(const float* u, size_t stride, size_t n, double* out, const int* states,
                                size_t state_stride) const {
  // Each stage as decode() computes it, over the whole chunk.
  for (size_t i = 0; i < n; ++i) out[i] = u[i * stride];
  if (!mode_z.empty()) {
    for (size_t i = 0; i < n; ++i) {
      const int m = states ? states[i * state_stride] : 0;
      out[i] = from_mode(mode_span(mode_z, is_value_state(m) ? m : 0), out[i]);
    }
  }
  if (marginal == Marginal::Standardize) {
    for (size_t i = 0; i < n; ++i) out[i] = out[i] * sd + mean;
  } else {
    const size_t K = qz.size();
    for (size_t i = 0; i < n; ++i) {
      const double v = out[i];
      double t;
      if (v <= qz[0]) {
        t = qx[0] + (v - qz[0]) / tail_slope;
      } else if (v >= qz[K - 1]) {
        t = qx[K - 1] + (v - qz[K - 1]) / tail_slope;
      } else if (v != v) {
        t = v;  // NaN (an overflowed flow): stays NaN, reported by the caller
      } else {
        const size_t k = segment(qz, qz_index, v);
        t = qx[k] + (v - qz[k]) * (qx[k + 1] - qx[k]) / (qz[k + 1] - qz[k]);
      }
      out[i] = t;
    }
  }
  switch (bound) {
    case BoundMap::None: break;
    case BoundMap::Log:
      for (size_t i = 0; i < n; ++i) out[i] = min + std::exp(out[i]);
      break;
    case BoundMap::Logit:
      for (size_t i = 0; i < n; ++i) out[i] = min + (max - min) / (1 + std::exp(-out[i]));
      break;
  }
  if (type == ColumnType::Integer) {
    for (size_t i = 0; i < n; ++i) {
      double x = std::floor(out[i]);
      if (bound != BoundMap::None) x = std::max(x, min);
      if (bound == BoundMap::Logit) x = std::min(x, max - 1);
      out[i] = x;
    }
  } else if (bound != BoundMap::None) {
    for (size_t i = 0; i < n; ++i) {
      double x = std::max(out[i], min);
      if (bound == BoundMap::Logit) x = std::min(x, max);
      out[i] = x;
    }
  }
}

void ColumnEncoder::encode_many(const double* x, size_t n, double* u, double* logj) const {
  for (size_t i = 0; i < n; ++i) {
    double lj = logj[i];
    const double t = bound_map(*this, x[i], &lj);
    logj[i] = lj;
    u[i] = t;
  }
  if (marginal == Marginal::Standardize) {
    const double log_sd = std::log(sd);
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(logj[i])) {
        u[i] = 0;
        continue;
      }
      logj[i] -= log_sd;
      u[i] = (u[i] - mean) / sd;
    }
    return;
  }
  const size_t K = qx.size();
  const double log_tail = std::log(tail_slope);
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(logj[i])) {
      u[i] = 0;
      continue;
    }
    const double t = u[i];
    if (t <= qx[0]) {
      logj[i] += log_tail;
      u[i] = qz[0] + (t - qx[0]) * tail_slope;
    } else if (t >= qx[K - 1]) {
      logj[i] += log_tail;
      u[i] = qz[K - 1] + (t - qx[K - 1]) * tail_slope;
    } else {
      const size_t k = segment(qx, qx_index, t);
      const double slope = (qz[k + 1] - qz[k]) / (qx[k + 1] - qx[k]);
      logj[i] += std::log(slope);
      u[i] = qz[k] + (t - qx[k]) * slope;
    }
  }
  if (mode_z.empty()) return;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(logj[i])) continue;
    const int m = int(std::upper_bound(mode_z.begin(), mode_z.end(), u[i]) - mode_z.begin());
    u[i] = to_mode(mode_span(mode_z, m), u[i], &logj[i]);
  }
}

void ColumnEncoder::rebuild_index() {
  index.clear();
  for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = int(i);
}

namespace {
// The marginal map of a bound-mapped value t (standardize or the quantile map), adding its
// log-derivative.
double marginal_map(const ColumnEncoder& e, double t, double* logj) {
  if (e.marginal == Marginal::Standardize) {
    *logj -= std::log(e.sd);
    return (t - e.mean) / e.sd;
  }
  const std::vector<double>&qx = e.qx, &qz = e.qz;
  const size_t K = qx.size();
  if (t <= qx[0]) {
    *logj += std::log(e.tail_slope);
    return qz[0] + (t - qx[0]) * e.tail_slope;
  }
  if (t >= qx[K - 1]) {
    *logj += std::log(e.tail_slope);
    return qz[K - 1] + (t - qx[K - 1]) * e.tail_slope;
  }
  const size_t k = size_t(std::upper_bound(qx.begin(), qx.end(), t) - qx.begin()) - 1;
  const double slope = (qz[k + 1] - qz[k]) / (qx[k + 1] - qx[k]);
  *logj += std::log(slope);
  return qz[k] + (t - qx[k]) * slope;
}
}  // namespace

double ColumnEncoder::normal_score(double x) const {
  double lj = 0;
  const double t = bound_map(*this, x, &lj);
  return std::isfinite(lj) ? marginal_map(*this, t, &lj) : 0.0;
}

double ColumnEncoder::value_at_score(double z) const {
  ColumnEncoder plain = *this;
  plain.mode_z.clear();
  plain.type = ColumnType::Continuous;  // the threshold itself, not its integer cell
  return plain.decode(z);
}

double ColumnEncoder::encode(double x, double* logj) const {
  const double t = bound_map(*this, x, logj);
  if (!std::isfinite(*logj)) return 0;
  const double z = marginal_map(*this, t, logj);
  if (mode_z.empty()) return z;
  const int m = int(std::upper_bound(mode_z.begin(), mode_z.end(), z) - mode_z.begin());
  return to_mode(mode_span(mode_z, m), z, logj);
}

double ColumnEncoder::decode(double u, int state) const {
  if (!mode_z.empty()) u = from_mode(mode_span(mode_z, is_value_state(state) ? state : 0), u);
  double t;
  if (marginal == Marginal::Standardize) {
    t = u * sd + mean;
  } else {
    const size_t K = qz.size();
    if (u <= qz[0]) {
      t = qx[0] + (u - qz[0]) / tail_slope;
    } else if (u >= qz[K - 1]) {
      t = qx[K - 1] + (u - qz[K - 1]) / tail_slope;
    } else {
      const size_t k = size_t(std::upper_bound(qz.begin(), qz.end(), u) - qz.begin()) - 1;
      t = qx[k] + (u - qz[k]) * (qx[k + 1] - qx[k]) / (qz[k + 1] - qz[k]);
    }
  }
  double x = bound_unmap(*this, t);
  if (type == ColumnType::Integer) {
    x = std::floor(x);
    if (bound != BoundMap::None) x = std::max(x, min);
    if (bound == BoundMap::Logit) x = std::min(x, max - 1);
  } else if (bound != BoundMap::None) {
    // exp/sigmoid keep x inside the bounds up to float rounding; clamp that rounding.
    x = std::max(x, min);
    if (bound == BoundMap::Logit) x = std::min(x, max);
  }
  return x;
}

void to_json(nlohmann::json& j, const ColumnEncoder& e) {
  j = {{"name", e.name}, {"type", to_string(e.type)}, {"has_missing", e.has_missing},
       {"missing_token", e.missing_token}};
  if (e.is_categorical()) {
    j["labels"] = e.labels;
    return;
  }
  j["atoms"] = e.atoms;
  j["bound"] = e.bound == BoundMap::None ? "none" : e.bound == BoundMap::Log ? "log" : "logit";
  j["min"] = e.min;
  j["max"] = e.max;
  j["has_min"] = e.has_min;
  j["has_max"] = e.has_max;
  j["marginal"] = e.marginal == Marginal::Standardize ? "standardize" : "quantile";
  j["mean"] = e.mean;
  j["sd"] = e.sd;
  j["qx"] = e.qx;
  j["qz"] = e.qz;
  j["tail_slope"] = e.tail_slope;
  j["mode_z"] = e.mode_z;
  j["observed_support"] = e.observed_support;
}

void from_json(const nlohmann::json& j, ColumnEncoder& e) {
  e.name = j.at("name").get<std::string>();
  e.type = column_type_from(j.at("type").get<std::string>());
  e.has_missing = j.at("has_missing").get<bool>();
  e.missing_token = j.at("missing_token").get<std::string>();
  if (e.is_categorical()) {
    e.labels = j.at("labels").get<std::vector<std::string>>();
    e.rebuild_index();
    e.validate();
    return;
  }
  e.atoms = j.at("atoms").get<std::vector<double>>();
  const std::string b = j.at("bound").get<std::string>();
  e.bound = b == "none" ? BoundMap::None : b == "log" ? BoundMap::Log : b == "logit" ? BoundMap::Logit
            : throw Error("column \"" + e.name + "\": unknown bound map", __FILE__, __LINE__);
  e.min = j.at("min").get<double>();
  e.max = j.at("max").get<double>();
  e.has_min = j.at("has_min").get<bool>();
  e.has_max = j.at("has_max").get<bool>();
  e.marginal = j.at("marginal").get<std::string>() == "quantile" ? Marginal::Quantile : Marginal::Standardize;
  e.mean = j.at("mean").get<double>();
  e.sd = j.at("sd").get<double>();
  e.qx = j.at("qx").get<std::vector<double>>();
  e.qz = j.at("qz").get<std::vector<double>>();
  e.tail_slope = j.at("tail_slope").get<double>();
  // Absent in files written before modes existed: one mode.
  e.mode_z = j.value("mode_z", std::vector<double>());
  // Absent in files written before the observed support existed: their bounds were declared.
  e.observed_support = j.value("observed_support", false);
  e.validate();
  e.build_knot_index();
}

}  // namespace ef
