// A small reader for discrete Bayesian networks in BIF (the bnlearn files in
// ../shared/datasets/bn), with ancestral sampling, exact log-likelihood and CPT refitting:
// the C++ counterpart of bench/tabular/bif.py. Supported subset:
//   network N { ... }                                  (skipped)
//   variable X { type discrete [ k ] { s1, ..., sk }; [property ...;] }
//   probability ( X ) { table p1, ..., pk; }
//   probability ( X | A, B ) { (a, b) p1, ..., pk; ...  [default p1, ..., pk;] [table ...;] }
// Comments (// and /* */) are ignored. Errors throw std::runtime_error naming the file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace efbench {

struct BnVar {
  std::string name;
  std::vector<std::string> states;
  std::vector<int> parents;  // variable indices
  // CPT, row-major over (parent configuration, child state): index
  // (sum_j code(parent_j) * stride_j) * k + state, parents in declaration order, last varies fastest.
  std::vector<double> cpt;
  int configs = 1;           // number of parent configurations
};

struct BayesNet {
  std::vector<BnVar> vars;  // declaration order (= the table's column order)
  std::vector<int> order;   // a topological order

  int config_of(int v, const int* row) const;  // row: one code per variable
  // n rows (n x V codes, row-major) by ancestral sampling from the network (efbench::Rng(seed)).
  std::vector<int> sample(size_t n, uint64_t seed) const;
  // Per-row log P(row) under the network's CPTs, or under `cpts` (same structure) when given.
  std::vector<double> loglik(const std::vector<int>& rows,
                             const std::vector<std::vector<double>>* cpts = nullptr) const;
  // Maximum-likelihood CPTs on the same structure with additive smoothing `pseudocount`; a parent
  // configuration never seen (with pseudocount 0) gets the uniform distribution (pomegranate's
  // ConditionalProbabilityTable.from_summaries, as SDGym used).
  std::vector<std::vector<double>> fit(const std::vector<int>& rows, double pseudocount) const;
};

BayesNet parse_bif(const std::string& path);

// A random network of V variables (issue 16's "random networks you generate yourself"): a
// random topological order; each variable has 2-4 levels and up to min(3, position) parents
// drawn from the variables before it; each CPT row is weights U^(1/0.7) * E (U uniform, E
// exponential) normalized, which gives skewed rows. Declaration order (v0, v1, ...) is not the
// topological one. Same (V, seed), same network.
BayesNet random_network(int V, uint64_t seed);

}  // namespace efbench
