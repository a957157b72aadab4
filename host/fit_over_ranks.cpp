#include "fit_over_ranks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <set>

#include "error.hpp"

namespace ef {
namespace {

// Bytes of a vector of trivially copyable values, and back.
template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
template <class T>
std::vector<T> from_bytes(const std::string& s) {
  std::vector<T> v(s.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), s.data(), v.size() * sizeof(T));
  return v;
}

// The up to k smallest and k largest distinct values of v.
std::vector<double> extremes(const std::vector<double>& v, size_t k) {
  std::set<double> lo, hi;
  for (double x : v) {
    if (lo.size() < k || x < *lo.rbegin()) {
      lo.insert(x);
      if (lo.size() > k) lo.erase(std::prev(lo.end()));
    }
    if (hi.size() < k || x > *hi.begin()) {
      hi.insert(x);
      if (hi.size() > k) hi.erase(hi.begin());
    }
  }
  std::vector<double> out(lo.begin(), lo.end());
  out.insert(out.end(), hi.begin(), hi.end());
  return out;
}

// Count, mean and sum of squared deviations; merge() is Chan, Golub and LeVeque's pairwise update.
struct Welford {
  double n = 0, mean = 0, m2 = 0;
  void add(double x) {
    n += 1;
    const double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  void merge(const Welford& o) {
    if (o.n == 0) return;
    const double t = n + o.n, d = o.mean - mean;
    mean += d * (o.n / t);
    m2 += o.m2 + d * d * (n * o.n / t);
    n = t;
  }
};

// Each rank's lowest and highest distinct values: more than an encoder's point masses, so the
// observed range of the values outside them is every rank's.
constexpr size_t kExtremes = size_t(kMaxPointMasses) + 1;

}  // namespace

std::vector<int> gather_rows(Communicator& comm, const std::vector<int>& mine) {
  std::vector<int> out;
  for (const std::string& s : comm.allgather(bytes_of(mine))) {
    const std::vector<int> v = from_bytes<int>(s);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

ColumnEncoder fit_numeric_over_ranks(Communicator& comm, const std::string& name, ColumnType type,
                                     const std::vector<double>& train, const std::vector<double>& all,
                                     size_t n_missing, size_t n_rows, const std::string& missing_token,
                                     const ColumnOptions& opt, ColumnStats* st) {
  const int R = comm.size();
  // 1. Counts of every rank.
  const std::vector<double> counts = {double(train.size()), double(all.size()), double(n_missing), double(n_rows)};
  std::vector<std::vector<double>> rc;
  for (const std::string& s : comm.allgather(bytes_of(counts))) rc.push_back(from_bytes<double>(s));
  double t_train = 0, t_all = 0, t_missing = 0, t_rows = 0;
  for (auto& c : rc) t_train += c[0], t_all += c[1], t_missing += c[2], t_rows += c[3];
  // A column whose training rows are all missing everywhere is fitted on all its values (as one
  // process does).
  const bool use_all = t_train == 0;
  const size_t src = use_all ? 1 : 0;
  const double total = use_all ? t_all : t_train;
  // 2. The sample and the extremes, in rank order.
  std::vector<double> sorted = use_all ? all : train;
  std::sort(sorted.begin(), sorted.end());
  double before = 0;
  for (int q = 0; q < comm.rank(); ++q) before += rc[size_t(q)][src];
  const double S = std::min(total, double(kFitSampleValues));
  const size_t m = total > 0 ? size_t(std::floor(S * (before + double(sorted.size())) / total)) -
                                   size_t(std::floor(S * before / total))
                             : 0;
  std::vector<double> mine;
  for (size_t k = 0; k < m; ++k)
    mine.push_back(sorted[std::min(sorted.size() - 1, size_t((double(k) + 0.5) * double(sorted.size()) / double(m)))]);
  std::vector<double>().swap(sorted);
  const size_t n_mine = mine.size();
  const std::vector<double> ext = extremes(all, kExtremes);
  mine.insert(mine.end(), ext.begin(), ext.end());
  mine.push_back(double(n_mine));  // where the sample ends
  std::vector<double> sample, range;
  for (const std::string& s : comm.allgather(bytes_of(mine))) {
    const std::vector<double> v = from_bytes<double>(s);
    const size_t k = size_t(v.back());
    sample.insert(sample.end(), v.begin(), v.begin() + long(k));
    range.insert(range.end(), v.begin() + long(k), v.end() - 1);
  }
  range.insert(range.end(), sample.begin(), sample.end());
  ColumnEncoder e = ColumnEncoder::fit_numeric(name, type, sample, size_t(t_missing), missing_token, opt, &range);
  // 3. Mean and sd after the bound map from every training value; point-mass counts of all rows.
  Welford w;
  for (double v : use_all ? all : train) {
    if (!e.is_value_state(e.state_of(v))) continue;
    double lj = 0;
    const double x = e.bound_value(type == ColumnType::Integer ? v + 0.5 : v, &lj);
    if (std::isfinite(lj)) w.add(x);
  }
  std::vector<double> mine3 = {w.n, w.mean, w.m2};
  mine3.resize(3 + e.atoms.size(), 0.0);
  for (double v : all)
    if (const int k = e.state_of(v); !e.is_value_state(k)) mine3[3 + e.atom_of(k)] += 1;
  Welford g;
  std::vector<double> atom_rows(e.atoms.size(), 0.0);
  for (const std::string& s : comm.allgather(bytes_of(mine3))) {
    const std::vector<double> v = from_bytes<double>(s);
    g.merge(Welford{v[0], v[1], v[2]});
    for (size_t a = 0; a < atom_rows.size(); ++a) atom_rows[a] += v[3 + a];
  }
  if (g.n > 0) {
    const double sd = g.n > 1 ? std::sqrt(g.m2 / (g.n - 1)) : 0.0;
    if (std::isfinite(g.mean) && std::isfinite(sd)) e.set_scale(g.mean, sd);
  }
  e.validate();
  e.build_knot_index();
  if (st) {
    st->rows = size_t(t_rows);
    st->missing = size_t(t_missing);
    st->atom_share.assign(e.atoms.size(), 0.0);
    for (size_t a = 0; a < atom_rows.size(); ++a) st->atom_share[a] = atom_rows[a] / t_rows;
    bool any = false;
    for (int q = 0; q < R; ++q) any |= rc[size_t(q)][1] > 0;
    if (any) {  // the extremes hold every rank's min and max
      st->min = *std::min_element(range.begin(), range.end());
      st->max = *std::max_element(range.begin(), range.end());
    }
  }
  return e;
}

ColumnEncoder fit_categorical_over_ranks(Communicator& comm, const std::string& name,
                                         const std::vector<std::string>& labels, const std::vector<uint8_t>& missing,
                                         const std::string& missing_token, ColumnStats* st) {
  std::set<std::string> mine;
  size_t n_missing = 0;
  for (size_t r = 0; r < labels.size(); ++r) {
    if (!missing.empty() && missing[r]) ++n_missing;
    else mine.insert(labels[r]);
  }
  // Each rank's labels as one string: counts first, then each label's length and bytes.
  std::string msg = std::to_string(labels.size()) + " " + std::to_string(n_missing) + " " + std::to_string(mine.size()) + "\n";
  for (const std::string& l : mine) msg += std::to_string(l.size()) + ":" + l;
  std::set<std::string> all;
  size_t t_rows = 0, t_missing = 0;
  for (const std::string& s : comm.allgather(msg)) {
    size_t rows = 0, miss = 0, k = 0;
    const size_t nl = s.find('\n');
    EF_CHECK(nl != std::string::npos && std::sscanf(s.c_str(), "%zu %zu %zu", &rows, &miss, &k) == 3,
             "column \"", name, "\": a rank sent malformed labels");
    t_rows += rows;
    t_missing += miss;
    for (size_t o = nl + 1, i = 0; i < k; ++i) {
      const size_t colon = s.find(':', o);
      const size_t len = std::stoull(s.substr(o, colon - o));
      all.insert(s.substr(colon + 1, len));
      o = colon + 1 + len;
    }
  }
  std::vector<std::string> u(all.begin(), all.end());
  std::vector<uint8_t> miss(u.size(), 0);
  if (t_missing > 0) {  // one missing cell stands for all of them: fit_categorical only asks whether any is
    u.emplace_back();
    miss.push_back(1);
  }
  ColumnEncoder e = ColumnEncoder::fit_categorical(name, u, miss, missing_token);
  if (st) {
    st->rows = t_rows;
    st->missing = t_missing;
  }
  return e;
}

}  // namespace ef
