#include "structure_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "error.hpp"

namespace ef {

namespace {

constexpr double kNone = -std::numeric_limits<double>::infinity();

// BIC of one family (a group and a parent set) from the counts of its rows.
class FamilyScorer {
 public:
  FamilyScorer(const std::vector<int>& codes, int N, const std::vector<int>& levels)
      : codes_(codes), N_(N), G_(int(levels.size())), levels_(levels), nlogn_(size_t(N) + 1, 0.0) {
    for (int k = 2; k <= N; ++k) nlogn_[size_t(k)] = double(k) * std::log(double(k));
    half_log_n_ = 0.5 * std::log(double(std::max(N, 2)));
  }
  // kNone when the parents have more than kDagMaxConfigs configurations.
  double operator()(int child, const std::vector<int>& parents) {
    int64_t q = 1;
    for (int p : parents) {
      q *= levels_[size_t(p)];
      if (q > kDagMaxConfigs) return kNone;
    }
    const int r = levels_[size_t(child)];
    counts_.assign(size_t(q) * size_t(r), 0);
    for (int i = 0; i < N_; ++i) {
      const int* row = codes_.data() + size_t(i) * size_t(G_);
      int64_t k = 0;
      for (int p : parents) k = k * levels_[size_t(p)] + row[p];
      ++counts_[size_t(k) * size_t(r) + size_t(row[child])];
    }
    double ll = 0;
    for (int64_t k = 0; k < q; ++k) {
      int nk = 0;
      for (int x = 0; x < r; ++x) {
        const int c = counts_[size_t(k) * size_t(r) + size_t(x)];
        ll += nlogn_[size_t(c)];
        nk += c;
      }
      ll -= nlogn_[size_t(nk)];
    }
    return ll - half_log_n_ * double(r - 1) * double(q);
  }

 private:
  const std::vector<int>& codes_;
  int N_, G_;
  const std::vector<int>& levels_;
  std::vector<double> nlogn_;
  double half_log_n_ = 0;
  std::vector<int> counts_;
};

bool has(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

std::vector<int> topological_order(const std::vector<std::vector<int>>& parents) {
  const int G = int(parents.size());
  std::vector<int> order, waiting(size_t(G), 0);
  std::vector<std::vector<int>> children(static_cast<size_t>(G));
  for (int g = 0; g < G; ++g) {
    waiting[size_t(g)] = int(parents[size_t(g)].size());
    for (int p : parents[size_t(g)]) children[size_t(p)].push_back(g);
  }
  std::vector<char> done(size_t(G), 0);
  for (int step = 0; step < G; ++step) {
    int next = -1;
    for (int g = 0; g < G && next < 0; ++g)
      if (!done[size_t(g)] && waiting[size_t(g)] == 0) next = g;
    EF_CHECK(next >= 0, "topological_order: the graph has a cycle");
    done[size_t(next)] = 1;
    order.push_back(next);
    for (int c : children[size_t(next)]) --waiting[size_t(c)];
  }
  return order;
}

LearnedDag learn_dag(const std::vector<int>& all_codes, int N_all, const std::vector<int>& levels) {
  const int G = int(levels.size());
  LearnedDag out;
  out.parents.assign(size_t(G), {});
  // Rows with every code in range.
  std::vector<int> codes;
  int N = 0;
  for (int i = 0; i < N_all; ++i) {
    const int* row = all_codes.data() + size_t(i) * size_t(G);
    bool ok = true;
    for (int g = 0; g < G && ok; ++g) ok = row[g] >= 0 && row[g] < levels[size_t(g)];
    if (!ok) continue;
    codes.insert(codes.end(), row, row + G);
    ++N;
  }
  if (G > kDagOrderMaxGroups || N < 2) {
    out.order = topological_order(out.parents);
    return out;
  }
  FamilyScorer score(codes, N, levels);
  std::vector<double> own(static_cast<size_t>(G));  // each group's family score now
  // delta[i * G + j]: the change of the score when i joins (or leaves) j's parents.
  std::vector<double> delta(size_t(G) * size_t(G), kNone);
  auto refresh = [&](int j) {
    std::vector<int>& pa = out.parents[size_t(j)];
    own[size_t(j)] = score(j, pa);
    for (int i = 0; i < G; ++i) {
      double& d = delta[size_t(i) * size_t(G) + size_t(j)];
      d = kNone;
      if (i == j) continue;
      std::vector<int> t = pa;
      if (has(t, i)) {
        t.erase(std::find(t.begin(), t.end(), i));
      } else {
        if (int(t.size()) >= kDagMaxParents) continue;
        t.insert(std::upper_bound(t.begin(), t.end(), i), i);
      }
      const double s = score(j, t);
      if (s != kNone) d = s - own[size_t(j)];
    }
  };
  for (int j = 0; j < G; ++j) refresh(j);
  double empty = 0;
  for (double s : own) empty += s;
  out.empty_score = empty / N;

  std::vector<std::vector<char>> reach(size_t(G), std::vector<char>(size_t(G), 0));
  std::vector<std::vector<int>> children(static_cast<size_t>(G));
  const int max_moves = kDagMaxMoves(G);
  for (; out.moves < max_moves; ++out.moves) {
    // reach[a][b]: a directed path a -> ... -> b (a != b).
    for (int g = 0; g < G; ++g) children[size_t(g)].clear();
    for (int g = 0; g < G; ++g)
      for (int p : out.parents[size_t(g)]) children[size_t(p)].push_back(g);
    for (int a = 0; a < G; ++a) {
      std::vector<char>& ra = reach[size_t(a)];
      std::fill(ra.begin(), ra.end(), 0);
      std::vector<int> stack = children[size_t(a)];
      while (!stack.empty()) {
        const int v = stack.back();
        stack.pop_back();
        if (ra[size_t(v)]) continue;
        ra[size_t(v)] = 1;
        for (int c : children[size_t(v)]) stack.push_back(c);
      }
    }
    // The best move; a later one must beat it by more than rounding to replace it.
    double best = 0;
    int bi = -1, bj = -1, kind = 0;  // kind 1 add i->j, 2 delete i->j, 3 reverse i->j
    auto consider = [&](double d, int i, int j, int k) {
      if (d > best + 1e-9 * std::max(1.0, std::fabs(best))) {
        best = d;
        bi = i;
        bj = j;
        kind = k;
      }
    };
    for (int i = 0; i < G; ++i)
      for (int j = 0; j < G; ++j) {
        if (i == j) continue;
        const double d = delta[size_t(i) * size_t(G) + size_t(j)];
        if (has(out.parents[size_t(j)], i)) {
          consider(d, i, j, 2);
          const double back = delta[size_t(j) * size_t(G) + size_t(i)];
          if (d == kNone || back == kNone) continue;
          // Reversing i -> j closes a cycle when another path leads from i to j.
          bool other = false;
          for (int c : children[size_t(i)]) other |= c != j && reach[size_t(c)][size_t(j)];
          if (!other) consider(d + back, i, j, 3);
        } else if (!has(out.parents[size_t(i)], j) && d != kNone && !reach[size_t(j)][size_t(i)]) {
          consider(d, i, j, 1);
        }
      }
    if (kind == 0) break;
    std::vector<int>& pj = out.parents[size_t(bj)];
    if (kind == 1) {
      pj.insert(std::upper_bound(pj.begin(), pj.end(), bi), bi);
    } else {
      pj.erase(std::find(pj.begin(), pj.end(), bi));
    }
    if (kind == 3) {
      std::vector<int>& pi = out.parents[size_t(bi)];
      pi.insert(std::upper_bound(pi.begin(), pi.end(), bj), bj);
      refresh(bi);
    }
    refresh(bj);
  }
  double total = 0;
  for (double s : own) total += s;
  out.score = total / N;
  for (auto& p : out.parents) out.edges += int(p.size());
  out.order = topological_order(out.parents);
  return out;
}

}  // namespace ef
