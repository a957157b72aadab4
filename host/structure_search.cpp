#include "structure_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "error.hpp"

namespace ef {

namespace {

constexpr double kNone = -std::numeric_limits<double>::infinity();

// BIC (or BDeu) of one family (a group and a parent set) from the counts of its rows. The codes
// are held column by column, so counting a family reads its columns contiguously.
class FamilyScorer {
 public:
  FamilyScorer(const std::vector<int>& codes, int N, const std::vector<int>& levels, double bdeu_ess)
      : N_(N), G_(int(levels.size())), levels_(levels), col_(codes.size()), nlogn_(size_t(N) + 1, 0.0),
        ess_(bdeu_ess), key_(size_t(N)), base_(size_t(N)) {
    for (int i = 0; i < N; ++i)
      for (int g = 0; g < G_; ++g) col_[size_t(g) * size_t(N) + size_t(i)] = codes[size_t(i) * size_t(G_) + size_t(g)];
    for (int k = 2; k <= N; ++k) nlogn_[size_t(k)] = double(k) * std::log(double(k));
    half_log_n_ = 0.5 * std::log(double(std::max(N, 2)));
  }
  // Parent configurations of a parent set; 0 when above kDagMaxConfigs.
  int64_t configs(const std::vector<int>& parents) const {
    int64_t q = 1;
    for (int p : parents) {
      q *= levels_[size_t(p)];
      if (q > kDagMaxConfigs) return 0;
    }
    return q;
  }
  // kNone when the parents have more than kDagMaxConfigs configurations.
  double operator()(int child, const std::vector<int>& parents) {
    const int64_t q = configs(parents);
    if (q == 0) return kNone;
    keys(parents, key_);
    return from_keys(child, key_, q);
  }
  // The scores of child's family with each group i added to `parents` (the index set `add`):
  // out[i]; the current parents' configuration of each row is computed once.
  void scores_with_one_more(int child, const std::vector<int>& parents, const std::vector<int>& add,
                            std::vector<double>& out) {
    const int64_t q = configs(parents);
    keys(parents, base_);
    for (int i : add) {
      const int64_t qi = q * levels_[size_t(i)];
      if (q == 0 || qi > kDagMaxConfigs) {
        out[size_t(i)] = kNone;
        continue;
      }
      const int L = levels_[size_t(i)];
      const int* c = col(i);
      for (int r = 0; r < N_; ++r) key_[size_t(r)] = base_[size_t(r)] * L + c[r];
      out[size_t(i)] = from_keys(child, key_, qi);
    }
  }

 private:
  const int* col(int g) const { return col_.data() + size_t(g) * size_t(N_); }
  void keys(const std::vector<int>& parents, std::vector<int>& key) const {
    std::fill(key.begin(), key.end(), 0);
    for (int p : parents) {
      const int L = levels_[size_t(p)];
      const int* c = col(p);
      for (int r = 0; r < N_; ++r) key[size_t(r)] = key[size_t(r)] * L + c[r];
    }
  }
  // BIC: sum n_kx log(n_kx / n_k) - (log N / 2) (r - 1) q. BDeu (ess a): sum over configurations
  // lgamma(a/q) - lgamma(a/q + n_k) + sum_x lgamma(a/(q r) + n_kx) - lgamma(a/(q r)).
  double from_keys(int child, const std::vector<int>& key, int64_t q) {
    const int r = levels_[size_t(child)];
    const int* x = col(child);
    counts_.assign(size_t(q) * size_t(r), 0);
    for (int i = 0; i < N_; ++i) ++counts_[size_t(key[size_t(i)]) * size_t(r) + size_t(x[i])];
    if (ess_ > 0) {
      const double aq = ess_ / double(q), aqr = aq / double(r);
      const double lg_aq = std::lgamma(aq), lg_aqr = std::lgamma(aqr);
      double s = 0;
      for (int64_t k = 0; k < q; ++k) {
        int nk = 0;
        for (int v = 0; v < r; ++v) {
          const int c = counts_[size_t(k) * size_t(r) + size_t(v)];
          if (c > 0) s += std::lgamma(aqr + c) - lg_aqr;
          nk += c;
        }
        if (nk > 0) s += lg_aq - std::lgamma(aq + nk);
      }
      return s;
    }
    double ll = 0;
    for (int64_t k = 0; k < q; ++k) {
      int nk = 0;
      for (int v = 0; v < r; ++v) {
        const int c = counts_[size_t(k) * size_t(r) + size_t(v)];
        ll += nlogn_[size_t(c)];
        nk += c;
      }
      ll -= nlogn_[size_t(nk)];
    }
    return ll - half_log_n_ * double(r - 1) * double(q);
  }

  int N_, G_;
  const std::vector<int>& levels_;
  std::vector<int> col_;  // (G, N): group g's codes at g * N
  std::vector<double> nlogn_;
  double half_log_n_ = 0;
  double ess_ = 0;
  std::vector<int> key_, base_, counts_;
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

namespace {

// Rows with every code in range.
std::vector<int> usable_rows(const std::vector<int>& all_codes, int N_all, const std::vector<int>& levels, int& N) {
  const int G = int(levels.size());
  std::vector<int> codes;
  N = 0;
  for (int i = 0; i < N_all; ++i) {
    const int* row = all_codes.data() + size_t(i) * size_t(G);
    bool ok = true;
    for (int g = 0; g < G && ok; ++g) ok = row[g] >= 0 && row[g] < levels[size_t(g)];
    if (!ok) continue;
    codes.insert(codes.end(), row, row + G);
    ++N;
  }
  return codes;
}

}  // namespace

double dag_score(const std::vector<int>& all_codes, int N_all, const std::vector<int>& levels,
                 const std::vector<std::vector<int>>& parents, const DagSearchOptions& opt) {
  EF_CHECK(parents.size() == levels.size(), "dag_score: ", parents.size(), " parent sets for ", levels.size(), " groups");
  int N = 0;
  const std::vector<int> codes = usable_rows(all_codes, N_all, levels, N);
  EF_CHECK(N >= 1, "dag_score: no usable rows");
  FamilyScorer score(codes, N, levels, opt.bdeu_ess);
  double total = 0;
  for (size_t g = 0; g < parents.size(); ++g) {
    std::vector<int> pa = parents[g];
    std::sort(pa.begin(), pa.end());
    const double s = score(int(g), pa);
    EF_CHECK(s != kNone, "dag_score: group ", g, " has more than ", kDagMaxConfigs, " parent configurations");
    total += s;
  }
  return total / N;
}

LearnedDag learn_dag(const std::vector<int>& all_codes, int N_all, const std::vector<int>& levels) {
  return learn_dag(all_codes, N_all, levels, DagSearchOptions{});
}

namespace {

// The search state: a graph, each group's family score, and the score change of every single
// edge move, kept current as the graph changes.
class Search {
 public:
  Search(FamilyScorer& score, int G, const DagSearchOptions& opt)
      : parents(size_t(G)), score_(score), G_(G), opt_(opt), own_(size_t(G)), delta_(size_t(G) * size_t(G), kNone),
        reach_(size_t(G), std::vector<char>(size_t(G), 0)), children_(size_t(G)), cand_(size_t(G)) {
    for (int j = 0; j < G; ++j) refresh(j);
  }
  std::vector<std::vector<int>> parents;  // per group, ascending
  int moves = 0;

  double total() const {
    double t = 0;
    for (double s : own_) t += s;
    return t;
  }
  // Sets the graph to `to`, rescoring the groups whose parents change.
  void set(const std::vector<std::vector<int>>& to) {
    for (int j = 0; j < G_; ++j)
      if (parents[size_t(j)] != to[size_t(j)]) {
        parents[size_t(j)] = to[size_t(j)];
        refresh(j);
      }
  }
  // Greedy hill climbing (the best move while one raises the score), then, with tabu_moves > 0,
  // the tabu phase; ends on the best graph seen. At most `budget` moves in each phase.
  void climb(int budget) {
    int stop = moves + budget;
    bool tabu = false;
    double best_total = 0;
    std::vector<std::vector<int>> best_parents;
    int since_best = 0;
    std::fill(tabu_until_.begin(), tabu_until_.end(), -1);
    tabu_until_.resize(size_t(G_) * size_t(G_), -1);
    while (moves < stop) {
      const Move m = best_move(tabu);
      if (m.kind == 0 && !tabu) {
        if (opt_.tabu_moves <= 0) break;
        tabu = true;
        stop = moves + budget;
        best_total = total();
        best_parents = parents;
        continue;
      }
      if (m.kind == 0) break;
      apply(m);
      ++moves;
      if (!tabu) continue;
      tabu_until_[pair(m.i, m.j)] = moves + opt_.tabu_tenure;
      const double t = total();
      if (t > best_total + 1e-9 * std::max(1.0, std::fabs(best_total))) {
        best_total = t;
        best_parents = parents;
        since_best = 0;
      } else if (++since_best >= opt_.tabu_moves) {
        break;
      }
    }
    if (tabu) set(best_parents);
  }
 private:
  struct Move {
    int kind, i, j;  // kind 1 add i->j, 2 delete i->j, 3 reverse i->j
    double gain;
  };
  size_t pair(int i, int j) const { return size_t(std::min(i, j)) * size_t(G_) + size_t(std::max(i, j)); }

  // Group j's family score and delta_[i * G + j] for every i: the change when i joins (or leaves)
  // j's parents (kNone: not allowed).
  void refresh(int j) {
    const std::vector<int>& pa = parents[size_t(j)];
    own_[size_t(j)] = score_(j, pa);
    std::vector<int> add;
    for (int i = 0; i < G_; ++i) {
      double& d = delta_[size_t(i) * size_t(G_) + size_t(j)];
      d = kNone;
      if (i == j) continue;
      if (has(pa, i)) {
        std::vector<int> t = pa;
        t.erase(std::find(t.begin(), t.end(), i));
        d = score_(j, t) - own_[size_t(j)];
      } else if (int(pa.size()) < opt_.max_parents) {
        add.push_back(i);
      }
    }
    score_.scores_with_one_more(j, pa, add, cand_);
    for (int i : add)
      if (cand_[size_t(i)] != kNone) delta_[size_t(i) * size_t(G_) + size_t(j)] = cand_[size_t(i)] - own_[size_t(j)];
  }
  // reach_[a][b]: a directed path a -> ... -> b (a != b).
  void update_reach() {
    for (int g = 0; g < G_; ++g) children_[size_t(g)].clear();
    for (int g = 0; g < G_; ++g)
      for (int p : parents[size_t(g)]) children_[size_t(p)].push_back(g);
    std::vector<int> stack;
    for (int a = 0; a < G_; ++a) {
      std::vector<char>& ra = reach_[size_t(a)];
      std::fill(ra.begin(), ra.end(), 0);
      stack = children_[size_t(a)];
      while (!stack.empty()) {
        const int v = stack.back();
        stack.pop_back();
        if (ra[size_t(v)]) continue;
        ra[size_t(v)] = 1;
        for (int c : children_[size_t(v)]) stack.push_back(c);
      }
    }
  }
  // Reversing i -> j keeps the graph acyclic unless another path leads from i to j; j must be
  // able to take i as a parent.
  bool reversible(int i, int j) const {
    if (delta_[size_t(j) * size_t(G_) + size_t(i)] == kNone) return false;
    for (int c : children_[size_t(i)])
      if (c != j && reach_[size_t(c)][size_t(j)]) return false;
    return true;
  }
  // The best legal move; a later one must beat it by more than rounding to replace it (so ties
  // go to the first in (parent, child) table order). Greedy: only moves that raise the score;
  // tabu: any move on a pair that is not tabu.
  Move best_move(bool tabu) {
    update_reach();
    Move b{0, -1, -1, tabu ? kNone : 0};
    auto consider = [&](double d, int i, int j, int k) {
      if (d == kNone) return;
      if (tabu && tabu_until_[pair(i, j)] >= moves) return;
      if ((tabu && b.kind == 0) || d > b.gain + 1e-9 * std::max(1.0, std::fabs(b.gain))) b = {k, i, j, d};
    };
    for (int i = 0; i < G_; ++i)
      for (int j = 0; j < G_; ++j) {
        if (i == j) continue;
        const double d = delta_[size_t(i) * size_t(G_) + size_t(j)];
        if (has(parents[size_t(j)], i)) {
          consider(d, i, j, 2);
          if (reversible(i, j)) consider(d + delta_[size_t(j) * size_t(G_) + size_t(i)], i, j, 3);
        } else if (!has(parents[size_t(i)], j) && !reach_[size_t(j)][size_t(i)]) {
          consider(d, i, j, 1);
        }
      }
    return b;
  }
  void apply(const Move& m) {
    std::vector<int>& pj = parents[size_t(m.j)];
    if (m.kind == 1) {
      pj.insert(std::upper_bound(pj.begin(), pj.end(), m.i), m.i);
    } else {
      pj.erase(std::find(pj.begin(), pj.end(), m.i));
    }
    if (m.kind == 3) {
      std::vector<int>& pi = parents[size_t(m.i)];
      pi.insert(std::upper_bound(pi.begin(), pi.end(), m.j), m.j);
      refresh(m.i);
    }
    refresh(m.j);
  }

  FamilyScorer& score_;
  const int G_;
  const DagSearchOptions& opt_;
  std::vector<double> own_, delta_;
  std::vector<std::vector<char>> reach_;
  std::vector<std::vector<int>> children_;
  std::vector<double> cand_;
  std::vector<int> tabu_until_;
};

}  // namespace

LearnedDag learn_dag(const std::vector<int>& all_codes, int N_all, const std::vector<int>& levels,
                     const DagSearchOptions& opt) {
  const int G = int(levels.size());
  LearnedDag out;
  out.parents.assign(size_t(G), {});
  int N = 0;
  const std::vector<int> codes = usable_rows(all_codes, N_all, levels, N);
  if (G > kDagOrderMaxGroups || N < 2) {
    out.order = topological_order(out.parents);
    return out;
  }
  FamilyScorer score(codes, N, levels, opt.bdeu_ess);
  Search s(score, G, opt);
  out.empty_score = s.total() / N;
  s.climb(kDagMaxMoves(G));
  out.parents = s.parents;
  out.moves = s.moves;
  out.score = s.total() / N;
  for (auto& p : out.parents) out.edges += int(p.size());
  out.order = topological_order(out.parents);
  return out;
}

}  // namespace ef
