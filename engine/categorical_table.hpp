// CategoricalTable: a discrete Bayesian network over the G categorical groups of one part:
//   log p(c) = sum_g log t_g[config_g(c)][c_g]
// with config_g the mixed-radix index of c's values of g's parents (parents listed ascending;
// the last varies fastest). The tables are fitted by counting (fit), not by gradient steps: the
// categorical model that TabularModel uses for a part whose PartSpec lists parents (the host
// chooses it against the CategoricalMade by validation likelihood; docs/MATH.md). Exact mass;
// ancestral draws in a topological order of the parents.
//
// The log-probabilities live in the model's flat parameter buffer, one tensor per group of
// configs x levels values ("<prefix>.cpt<g>"), so a model file holds them like any parameter.
// They have no gradient; the host sets them after training, so the optimizer never moves them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "param_layout.hpp"

namespace ef {

// Dirichlet prior of the counts of one table row (a parent configuration of a group with k
// levels and q configurations): each cell gets
//   Additive: a              BDeu: a / (q k)           Marginal: a p(x) (p = the group's
// smoothed marginal frequency): a back-off to the marginal where a configuration is rare.
struct CptPrior {
  enum Kind { Additive, BDeu, Marginal } kind = Additive;
  double a = 0.5;
};

template <class T>
class CategoricalTable {
 public:
  CategoricalTable() = default;
  // parents[g]: ascending group indices; order: a topological order of them (checked).
  CategoricalTable(std::vector<int> levels, std::vector<std::vector<int>> parents, std::vector<int> order,
                   ParamLayout& layout, const std::string& prefix);
  int groups() const { return int(levels_.size()); }
  const std::vector<int>& levels() const { return levels_; }
  const std::vector<std::vector<int>>& parents() const { return parents_; }
  int64_t configs(int g) const { return configs_[size_t(g)]; }
  size_t offset(int g) const { return off_[size_t(g)]; }
  double flops_per_row() const { return 4.0 * groups(); }
  void init(T* P) const;  // uniform tables
  // Counts of codes (N, G) with the prior, into P's tables (rows with a code out of range are
  // left out).
  void fit(T* P, const int* codes, int N, const CptPrior& prior) const;
  // Mean leave-one-out log-likelihood of the valid rows: each row scored by the tables fit()
  // would count from the other rows. Closed form, no refit: for choosing a prior from all rows.
  double loo_loglik(const int* codes, int N, const CptPrior& prior) const;
  // logp[b] += log p(codes_b).
  void forward(const T* P, const int* codes, int B, T* logp) const;
  // Ancestral draws; uniforms from (seed, stream, (row_offset + r) G + g), as CategoricalMade.
  void sample(const T* P, int B, uint64_t seed, uint64_t stream, uint64_t row_offset, int* codes) const;

 private:
  int64_t config_of(int g, const int* row) const;
  // ok[r]: row r's codes are all in range; returns how many are.
  int valid_rows(const int* codes, int N, std::vector<char>& ok) const;
  // Group g's counts per (configuration, level) cell over the ok rows, and the prior's
  // pseudo-count per level.
  void cell_counts(int g, const int* codes, int N, const std::vector<char>& ok, int n, const CptPrior& prior,
                   std::vector<double>& cnt, std::vector<double>& a) const;
  std::vector<int> levels_, order_;
  std::vector<std::vector<int>> parents_;
  std::vector<int64_t> configs_;
  std::vector<size_t> off_;
};

}  // namespace ef
