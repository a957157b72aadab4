#include "categorical_table.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "error.hpp"
#include "flow_math.hpp"

namespace ef {

namespace {
// A table model's parameters must stay allocatable: a parent set whose configurations times
// levels pass this is refused (structure_search caps parent configurations at 1024).
constexpr int64_t kMaxCells = int64_t(1) << 26;
}  // namespace

template <class T>
CategoricalTable<T>::CategoricalTable(std::vector<int> levels, std::vector<std::vector<int>> parents,
                                      std::vector<int> order, ParamLayout& layout, const std::string& prefix)
    : levels_(std::move(levels)), order_(std::move(order)), parents_(std::move(parents)) {
  const int G = groups();
  EF_CHECK(G > 0, "table model needs at least one column");
  EF_CHECK(int(parents_.size()) == G && int(order_.size()) == G, "table model: ", parents_.size(), " parent sets and ",
           order_.size(), " order entries for ", G, " columns");
  std::vector<char> seen(size_t(G), 0);
  for (int g : order_) {
    EF_CHECK(g >= 0 && g < G && !seen[size_t(g)], "table model: the order is not a permutation of the columns");
    for (int p : parents_[size_t(g)])
      EF_CHECK(p >= 0 && p < G && seen[size_t(p)], "table model: column ", g, "'s parent ", p,
               " does not come before it in the order");
    seen[size_t(g)] = 1;
  }
  for (int g = 0; g < G; ++g) {
    EF_CHECK(levels_[size_t(g)] >= 1, "categorical column with no levels");
    const std::vector<int>& pa = parents_[size_t(g)];
    EF_CHECK(std::is_sorted(pa.begin(), pa.end()) && std::adjacent_find(pa.begin(), pa.end()) == pa.end(),
             "table model: column ", g, "'s parents are not ascending");
    int64_t q = 1;
    for (int p : pa) {
      q *= levels_[size_t(p)];
      EF_CHECK(q * levels_[size_t(g)] <= kMaxCells, "table model: column ", g, " has too many parent configurations");
    }
    configs_.push_back(q);
    off_.push_back(layout.add(prefix + ".cpt" + std::to_string(g), size_t(q) * size_t(levels_[size_t(g)])));
  }
}

template <class T>
int64_t CategoricalTable<T>::config_of(int g, const int* row) const {
  int64_t c = 0;
  for (int p : parents_[size_t(g)]) c = c * levels_[size_t(p)] + row[p];
  return c;
}

template <class T>
void CategoricalTable<T>::init(T* P) const {
  for (int g = 0; g < groups(); ++g) {
    const int k = levels_[size_t(g)];
    std::fill(P + off_[size_t(g)], P + off_[size_t(g)] + size_t(configs_[size_t(g)]) * size_t(k), T(-std::log(double(k))));
  }
}

template <class T>
int CategoricalTable<T>::valid_rows(const int* codes, int N, std::vector<char>& ok) const {
  const int G = groups();
  ok.assign(size_t(std::max(N, 0)), 1);
  int n = 0;
  for (int r = 0; r < N; ++r) {
    for (int g = 0; g < G && ok[size_t(r)]; ++g) {
      const int c = codes[size_t(r) * G + g];
      ok[size_t(r)] = c >= 0 && c < levels_[size_t(g)];
    }
    n += ok[size_t(r)];
  }
  return n;
}

template <class T>
void CategoricalTable<T>::cell_counts(int g, const int* codes, int N, const std::vector<char>& ok, int n,
                                      const CptPrior& prior, std::vector<double>& cnt, std::vector<double>& a) const {
  EF_CHECK(prior.a > 0 && std::isfinite(prior.a), "table model: the prior's pseudo-count must be positive");
  const int G = groups(), k = levels_[size_t(g)];
  const int64_t q = configs_[size_t(g)];
  cnt.assign(size_t(q) * size_t(k), 0.0);
  std::vector<double> marg(size_t(k), 0.5);
  for (int r = 0; r < N; ++r) {
    if (!ok[size_t(r)]) continue;
    const int* row = codes + size_t(r) * G;
    cnt[size_t(config_of(g, row)) * size_t(k) + size_t(row[g])] += 1;
    marg[size_t(row[g])] += 1;
  }
  for (double& m : marg) m /= double(n) + 0.5 * k;
  a.resize(size_t(k));
  for (int x = 0; x < k; ++x)
    a[size_t(x)] = prior.kind == CptPrior::Additive ? prior.a
                   : prior.kind == CptPrior::BDeu   ? prior.a / (double(q) * k)
                                                    : prior.a * marg[size_t(x)];
}

template <class T>
void CategoricalTable<T>::fit(T* P, const int* codes, int N, const CptPrior& prior) const {
  std::vector<char> ok;
  const int n = valid_rows(codes, N, ok);
  std::vector<double> cnt, a;
  for (int g = 0; g < groups(); ++g) {
    cell_counts(g, codes, N, ok, n, prior, cnt, a);
    const int k = levels_[size_t(g)];
    T* t = P + off_[size_t(g)];
    for (int64_t c = 0; c < configs_[size_t(g)]; ++c) {
      double tot = 0;
      for (int x = 0; x < k; ++x) tot += cnt[size_t(c) * size_t(k) + size_t(x)] + a[size_t(x)];
      for (int x = 0; x < k; ++x)
        t[size_t(c) * size_t(k) + size_t(x)] = T(std::log((cnt[size_t(c) * size_t(k) + size_t(x)] + a[size_t(x)]) / tot));
    }
  }
}

template <class T>
double CategoricalTable<T>::loo_loglik(const int* codes, int N, const CptPrior& prior) const {
  const int G = groups();
  std::vector<char> ok;
  const int n = valid_rows(codes, N, ok);
  if (n < 2) return NAN;
  double s = 0;
  std::vector<double> cnt, a, tot, mc;
  for (int g = 0; g < G; ++g) {
    cell_counts(g, codes, N, ok, n, prior, cnt, a);
    const int k = levels_[size_t(g)];
    tot.assign(size_t(configs_[size_t(g)]), 0.0);
    mc.assign(size_t(k), 0.0);
    for (size_t i = 0; i < cnt.size(); ++i) tot[i / size_t(k)] += cnt[i], mc[i % size_t(k)] += cnt[i];
    double A = 0;
    for (double x : a) A += x;
    for (int r = 0; r < N; ++r) {
      if (!ok[size_t(r)]) continue;
      const int* row = codes + size_t(r) * G;
      const int x = row[g];
      const int64_t c = config_of(g, row);
      // The row's own count taken out of its cell, its configuration's total and (Marginal) the
      // marginal frequencies the pseudo-counts follow: fit() on the other rows, scored on it.
      double ax = a[size_t(x)], At = A;
      if (prior.kind == CptPrior::Marginal) {
        ax = prior.a * (mc[size_t(x)] - 1 + 0.5) / (double(n - 1) + 0.5 * k);
        At = prior.a;  // the marginal frequencies sum to 1
      }
      s += std::log((cnt[size_t(c) * size_t(k) + size_t(x)] - 1 + ax) / (tot[size_t(c)] - 1 + At));
    }
  }
  return s / n;
}

template <class T>
void CategoricalTable<T>::forward(const T* P, const int* codes, int B, T* logp) const {
  const int G = groups();
  for (int r = 0; r < B; ++r) {
    const int* row = codes + size_t(r) * G;
    bool ok = true;
    for (int g = 0; g < G && ok; ++g) ok = row[g] >= 0 && row[g] < levels_[size_t(g)];
    if (!ok) {  // a level the model does not have: no mass (the caller flags such rows anyway)
      logp[r] += -std::numeric_limits<T>::infinity();
      continue;
    }
    T s = 0;
    for (int g = 0; g < G; ++g)
      s += P[off_[size_t(g)] + size_t(config_of(g, row)) * size_t(levels_[size_t(g)]) + size_t(row[g])];
    logp[r] += s;
  }
}

template <class T>
void CategoricalTable<T>::sample(const T* P, int B, uint64_t seed, uint64_t stream, uint64_t row_offset,
                                 int* codes) const {
  const int G = groups();
  for (int r = 0; r < B; ++r) {
    int* row = codes + size_t(r) * G;
    for (int g : order_) {
      const int k = levels_[size_t(g)];
      const T* t = P + off_[size_t(g)] + size_t(config_of(g, row)) * size_t(k);
      double s = 0;
      for (int x = 0; x < k; ++x) s += std::exp(double(t[x]));
      double u = math::rand_uniform(seed, stream, (row_offset + uint64_t(r)) * uint64_t(G) + uint64_t(g)) * s;
      int x = 0;
      for (; x + 1 < k; ++x) {
        u -= std::exp(double(t[x]));
        if (u < 0) break;
      }
      row[g] = x;
    }
  }
}

template class CategoricalTable<float>;
template class CategoricalTable<double>;

}  // namespace ef
