// A learned directed acyclic graph over the categorical groups of block R, and its topological
// order: the order model.categorical_order = "dag" gives the categorical model.
//
// Why a DAG and not host/column_order.hpp's Chow-Liu tree: a tree is undirected, and Prim's
// order orients its edges by where the walk starts, so a child with two parents (a v-structure)
// may come before one of them; its conditional then has to be learned through its effects. A
// score-based search orients such edges from the data (the two parents are independent, the
// child is not), so every group comes after the groups it depends on.
//
// learn_dag: greedy hill climbing on the BIC score (log-likelihood of the counts minus
// (log n / 2) per free parameter), one edge at a time: add, delete or reverse whichever raises
// the score most, keeping the graph acyclic, at most kDagMaxParents parents and
// kDagMaxConfigs parent configurations per group, until no move raises it (or after
// kDagMaxMoves(G) moves). Deterministic: ties go to the first move in (parent, child) table
// order, so two orientations of an edge that score the same (BIC is score-equivalent) keep the
// table's direction. Greedy search stops where reaching a better graph needs score-equal
// moves first: for a v-structure a -> c <- b whose collider comes first in the table it orients
// c -> a and c -> b and then adds a -> b. By default a tabu phase follows (DagSearchOptions):
// it takes the best move on a pair that did not move recently even when it lowers the score,
// so it can walk those reversals, and keeps the best graph seen. The topological order lists,
// among the groups whose parents are all listed, the first in table order: an order that
// leaves the table's where the graph allows. (model.categorical_order = "dag" uses the greedy
// graph's order: host/model.cpp says why.)
#pragma once
#include <vector>

namespace ef {

constexpr int kDagMaxParents = 3;
constexpr int kDagMaxConfigs = 1024;  // parent configurations of one group (product of levels)
// Groups above this count keep table order (the search scores G^2 families to start).
constexpr int kDagOrderMaxGroups = 256;
// Rows the search counts (an evenly spaced subset of larger tables).
constexpr int kDagOrderMaxRows = 10000;
inline int kDagMaxMoves(int G) { return 8 * G; }

// How learn_dag searches (the defaults are what model.categorical_order = "dag" uses).
struct DagSearchOptions {
  int max_parents = kDagMaxParents;
  // Tabu phase after the greedy optimum: the best move that is not tabu is taken even when it
  // lowers the score, a pair of groups whose edge moved stays tabu for `tabu_tenure` moves, and
  // the phase ends after `tabu_moves` moves without a new best graph (0: greedy only); the best
  // graph seen is kept.
  int tabu_moves = 100;
  int tabu_tenure = 10;
  double bdeu_ess = 0;  // > 0: the BDeu score with this equivalent sample size instead of BIC
};

struct LearnedDag {
  std::vector<std::vector<int>> parents;  // per group, ascending
  std::vector<int> order;                 // a topological order, ties by table order
  double score = 0;                       // BIC of the graph on the rows, nats per row
  double empty_score = 0;                 // BIC of the graph without edges, nats per row
  int edges = 0, moves = 0;
};

// codes (N, G) row-major, levels (G). Rows with a code outside [0, levels[g]) in any group are
// left out. G > kDagOrderMaxGroups or fewer than 2 usable rows: no edges, table order.
LearnedDag learn_dag(const std::vector<int>& codes, int N, const std::vector<int>& levels);
LearnedDag learn_dag(const std::vector<int>& codes, int N, const std::vector<int>& levels, const DagSearchOptions& opt);

// The search's score (BIC, or BDeu when opt.bdeu_ess > 0) of a given acyclic graph (parents per
// group) on the rows, nats per row: to compare a learned graph with a known one.
double dag_score(const std::vector<int>& codes, int N, const std::vector<int>& levels,
                 const std::vector<std::vector<int>>& parents, const DagSearchOptions& opt = {});

// A topological order of `parents` (per group; must be acyclic): among the groups whose
// parents are all listed, the smallest index first.
std::vector<int> topological_order(const std::vector<std::vector<int>>& parents);

}  // namespace ef
