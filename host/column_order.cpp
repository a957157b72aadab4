#include "column_order.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

namespace ef {

namespace {
// Plug-in entropy (nats) of counts over n rows plus the Miller-Madow term (bins - 1) / 2n.
double entropy_mm(const std::vector<int>& counts, int n) {
  double h = 0;
  int bins = 0;
  for (int c : counts)
    if (c > 0) {
      const double p = double(c) / n;
      h -= p * std::log(p);
      ++bins;
    }
  return h + double(bins - 1) / (2.0 * n);
}
}  // namespace

double mutual_information(const std::vector<int>& codes, int N, int G, int a, int b, int ka, int kb) {
  std::vector<int> ca(size_t(ka), 0), cb(size_t(kb), 0);
  std::vector<int> joint;
  std::vector<uint64_t> keys;
  const bool dense = int64_t(ka) * kb <= (int64_t(1) << 16);
  if (dense) joint.assign(size_t(ka) * size_t(kb), 0);
  int n = 0;
  for (int r = 0; r < N; ++r) {
    const int x = codes[size_t(r) * G + a], y = codes[size_t(r) * G + b];
    if (x < 0 || x >= ka || y < 0 || y >= kb) continue;
    ++ca[size_t(x)];
    ++cb[size_t(y)];
    if (dense)
      ++joint[size_t(x) * size_t(kb) + size_t(y)];
    else
      keys.push_back(uint64_t(x) * uint64_t(kb) + uint64_t(y));
    ++n;
  }
  if (n < 2) return 0;
  if (!dense) {  // many levels: count the joint by sorting the observed pairs
    std::sort(keys.begin(), keys.end());
    for (size_t i = 0; i < keys.size();) {
      size_t j = i;
      while (j < keys.size() && keys[j] == keys[i]) ++j;
      joint.push_back(int(j - i));
      i = j;
    }
  }
  return std::max(0.0, entropy_mm(ca, n) + entropy_mm(cb, n) - entropy_mm(joint, n));
}

std::vector<int> dependence_order(const std::vector<int>& codes, int N, const std::vector<int>& levels) {
  const int G = int(levels.size());
  std::vector<int> order(static_cast<size_t>(G));
  std::iota(order.begin(), order.end(), 0);
  if (G <= 2 || G > kDependenceOrderMaxGroups || N < 2) return order;
  // An evenly spaced subset of the rows bounds the cost on large tables.
  std::vector<int> sub;
  const std::vector<int>* rows = &codes;
  int n = N;
  if (N > kDependenceOrderMaxRows) {
    n = kDependenceOrderMaxRows;
    sub.resize(size_t(n) * G);
    for (int i = 0; i < n; ++i) {
      const size_t r = size_t(int64_t(i) * N / n);
      std::copy(codes.begin() + long(r * G), codes.begin() + long((r + 1) * G), sub.begin() + long(size_t(i) * G));
    }
    rows = &sub;
  }
  std::vector<double> mi(size_t(G) * G, 0.0), total(size_t(G), 0.0);
  for (int a = 0; a < G; ++a)
    for (int b = a + 1; b < G; ++b) {
      const double v = mutual_information(*rows, n, G, a, b, levels[size_t(a)], levels[size_t(b)]);
      mi[size_t(a) * G + b] = mi[size_t(b) * G + a] = v;
      total[size_t(a)] += v;
      total[size_t(b)] += v;
    }
  // Prim's algorithm from the most informative group; ties keep table order.
  std::vector<char> in(size_t(G), 0);
  std::vector<double> link(size_t(G), -1.0);  // best information to a group already listed
  int next = int(std::max_element(total.begin(), total.end()) - total.begin());
  order.clear();
  for (int step = 0; step < G; ++step) {
    in[size_t(next)] = 1;
    order.push_back(next);
    for (int g = 0; g < G; ++g)
      if (!in[size_t(g)]) link[size_t(g)] = std::max(link[size_t(g)], mi[size_t(next) * G + g]);
    int best = -1;
    for (int g = 0; g < G; ++g)
      if (!in[size_t(g)] && (best < 0 || link[size_t(g)] > link[size_t(best)])) best = g;
    next = best;
  }
  return order;
}

}  // namespace ef
