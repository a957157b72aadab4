// The order in which the categorical model of the unconditioned columns (block R) visits its
// columns when model.categorical_order is "dependence" (the default is "dag", host/structure_search.hpp). An autoregressive model is exact in any order, but what it has to learn is not: in
// an order where each column follows the columns it depends on most, every conditional
// p(c_g | c_<g) is a function of a few earlier columns; in table order a column may come before
// the ones that explain it, and its conditional must then be learned through its effects
// (bench/results/QUALITY_DEFAULTS.md: alarm's held-out NLL 0.11 nats/row better in the
// network's own order than in the file's, 0.05 better in this order; but penguins and insurance
// are worse in it; the learned DAG order is the default).
//
// dependence_order builds the Chow-Liu tree (the maximum spanning tree of pairwise mutual
// information, plug-in estimates with the Miller-Madow bias correction) and lists the groups in
// Prim's order from the group with the largest total information: every group comes after its
// tree neighbour, so each conditional has its strongest single predictor before it.
#pragma once
#include <vector>

namespace ef {

// Groups above this count keep table order (the pairwise table costs G^2 / 2 joint counts).
constexpr int kDependenceOrderMaxGroups = 256;
// Rows used for the pairwise information (an evenly spaced subset of larger tables).
constexpr int kDependenceOrderMaxRows = 5000;

// codes (N, G) row-major, levels (G); entries outside [0, levels[g]) are not counted. Returns
// a permutation of 0..G-1: the visiting order (identity when G > kDependenceOrderMaxGroups).
std::vector<int> dependence_order(const std::vector<int>& codes, int N, const std::vector<int>& levels);

// Pairwise mutual information (nats) between groups a and b of codes (N, G), bias-corrected
// (Miller-Madow) and floored at 0.
double mutual_information(const std::vector<int>& codes, int N, int G, int a, int b, int ka, int kb);

}  // namespace ef
