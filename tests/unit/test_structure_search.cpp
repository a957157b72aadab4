// The learned DAG order (host/structure_search.hpp, model.categorical_order = "dag"): the
// search recovers a known network's edges from its rows and orders the columns along them, and
// a model fitted in that order keeps (and reloads) it and samples `--given` a conditional
// column exactly.
#include <algorithm>
#include <cmath>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "bif.hpp"
#include "column_order.hpp"
#include "flow_math.hpp"
#include "structure_search.hpp"
#include "test_util.hpp"

namespace {

// A chain x0 -> x1 -> ... -> x5 (3 levels; each copies its predecessor with probability 0.8,
// else a uniform level), stored in the scrambled column order kPerm (column j holds chain
// variable kPerm[j]).
const std::vector<int> kPerm = {3, 0, 5, 1, 4, 2};
std::vector<int> chain_codes(int N, uint64_t seed) {
  std::vector<int> codes(size_t(N) * 6);
  for (int r = 0; r < N; ++r) {
    std::vector<int> x(6);
    for (int v = 0; v < 6; ++v) {
      const double u = ef::math::rand_uniform(seed, uint64_t(v), uint64_t(r));
      const int fresh = int(ef::math::rand_uniform(seed, uint64_t(100 + v), uint64_t(r)) * 3) % 3;
      x[size_t(v)] = v > 0 && u < 0.8 ? x[size_t(v - 1)] : fresh;
    }
    for (int j = 0; j < 6; ++j) codes[size_t(r) * 6 + size_t(j)] = x[size_t(kPerm[size_t(j)])];
  }
  return codes;
}

int position(const std::vector<int>& order, int g) {
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] == g) return int(i);
  return -1;
}

bool has_edge(const std::vector<std::vector<int>>& parents, int p, int c) {
  return std::find(parents[size_t(c)].begin(), parents[size_t(c)].end(), p) != parents[size_t(c)].end();
}

// v-structures a -> c <- b (a < b not adjacent): with the skeleton they fix the Markov
// equivalence class, the part of the orientation the rows determine.
std::set<std::vector<int>> v_structures(const std::vector<std::vector<int>>& parents) {
  std::set<std::vector<int>> out;
  for (size_t c = 0; c < parents.size(); ++c)
    for (int a : parents[c])
      for (int b : parents[c])
        if (a < b && !has_edge(parents, a, b) && !has_edge(parents, b, a)) out.insert({a, int(c), b});
  return out;
}

}  // namespace

TEST_CASE("structure search: a scrambled chain's edges are found, one parent each, in an order along the chain") {
  const int N = 3000;
  const std::vector<int> codes = chain_codes(N, 7);
  const ef::LearnedDag dag = ef::learn_dag(codes, N, std::vector<int>(6, 3));
  // The chain's Markov equivalence class: its 5 edges, any orientation without a v-structure
  // (BIC scores them all the same), so every variable has at most one parent, a chain neighbour.
  CHECK(dag.edges == 5);
  int roots = 0;
  for (int g = 0; g < 6; ++g) {
    REQUIRE(dag.parents[size_t(g)].size() <= 1);
    if (dag.parents[size_t(g)].empty()) {
      ++roots;
      continue;
    }
    CHECK(std::abs(kPerm[size_t(dag.parents[size_t(g)][0])] - kPerm[size_t(g)]) == 1);
  }
  CHECK(roots == 1);
  CHECK(dag.score > dag.empty_score);
  // Every variable after the first comes after a chain neighbour (the table order does not).
  for (size_t i = 1; i < dag.order.size(); ++i) {
    bool after_neighbour = false;
    for (size_t k = 0; k < i; ++k) after_neighbour |= std::abs(kPerm[size_t(dag.order[k])] - kPerm[size_t(dag.order[i])]) == 1;
    CHECK(after_neighbour);
  }
}

TEST_CASE("structure search: topological order, ties by table order, a cycle is an error") {
  CHECK(ef::topological_order({{}, {}, {}}) == std::vector<int>{0, 1, 2});
  CHECK(ef::topological_order({{2}, {0}, {}}) == std::vector<int>{2, 0, 1});
  CHECK_THROWS(ef::topological_order({{1}, {0}}));
}


// Greedy BIC from the empty graph orients the first edge of a v-structure a -> c <- b whose
// collider comes first in the table as c -> a (BIC cannot tell the two directions apart; the tie
// goes to table order), then c -> b, then adds a -> b (given c, a and b are dependent): a
// complete graph in the order c, a, b. The tabu phase walks the equivalent reversals to the
// v-structure, which drops the a - b edge.
TEST_CASE("structure search: a v-structure whose collider comes first in the table is found, parents first") {
  const int N = 4000;
  std::vector<int> codes(size_t(N) * 3);  // columns c, a, b
  for (int r = 0; r < N; ++r) {
    const int a = int(ef::math::rand_uniform(5, 0, uint64_t(r)) * 3) % 3;
    const int b = int(ef::math::rand_uniform(5, 1, uint64_t(r)) * 3) % 3;
    const double u = ef::math::rand_uniform(5, 2, uint64_t(r));
    const int fresh = int(ef::math::rand_uniform(5, 3, uint64_t(r)) * 3) % 3;
    codes[size_t(r) * 3] = u < 0.45 ? a : u < 0.9 ? b : fresh;  // c copies a or b, else uniform
    codes[size_t(r) * 3 + 1] = a;
    codes[size_t(r) * 3 + 2] = b;
  }
  const ef::LearnedDag dag = ef::learn_dag(codes, N, std::vector<int>(3, 3));
  MESSAGE("parents of c: ", dag.parents[0].size(), ", edges ", dag.edges, ", order ", dag.order[0], " ", dag.order[1], " ",
          dag.order[2]);
  CHECK(dag.parents[0] == std::vector<int>{1, 2});
  CHECK(dag.parents[1].empty());
  CHECK(dag.parents[2].empty());
  CHECK(dag.edges == 2);
  CHECK(dag.order == std::vector<int>{1, 2, 0});
  // The v-structure scores higher than the complete graph greedy search stops at.
  CHECK(dag.score > ef::dag_score(codes, N, std::vector<int>(3, 3), {{}, {0}, {0, 1}}));
}

// The skeleton and the v-structures (the equivalence class), against the true network (19
// edges, 3 v-structures). Greedy search alone (DagSearchOptions::tabu_moves = 0) stops on these
// rows at 21 edges: 18 of the true skeleton's 19 and 3 extra, none of the v-structures, 11 true
// edges whose child comes first in its order, BIC -8.210 a row against the true graph's -8.113.
// With the tabu phase: 19 of 19 and 3 extra, 2 of 3 v-structures, 4 child-first, BIC -8.124.
TEST_CASE("structure search: a random network's skeleton and v-structures are recovered") {
  const efbench::BayesNet net = efbench::random_network(12, 4);  // the BN CI test's network
  const int N = 5000;
  const std::vector<int> codes = net.sample(size_t(N), 1104);
  const int V = int(net.vars.size());
  std::vector<int> levels(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) levels[size_t(v)] = int(net.vars[size_t(v)].states.size());
  const ef::LearnedDag dag = ef::learn_dag(codes, N, levels);
  std::vector<std::vector<int>> truth(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) truth[size_t(v)] = net.vars[size_t(v)].parents;
  int true_edges = 0, found = 0, late = 0, extra = 0;
  for (int c = 0; c < V; ++c)
    for (int p : truth[size_t(c)]) {
      ++true_edges;
      found += has_edge(dag.parents, p, c) || has_edge(dag.parents, c, p);
      late += position(dag.order, c) < position(dag.order, p);
    }
  for (int c = 0; c < V; ++c)
    for (int p : dag.parents[size_t(c)]) extra += !has_edge(truth, p, c) && !has_edge(truth, c, p);
  const auto tv = v_structures(truth), lv = v_structures(dag.parents);
  int v_found = 0;
  for (const auto& x : tv) v_found += int(lv.count(x));
  MESSAGE("true edges ", true_edges, ", in the learned skeleton ", found, ", extra ", extra, "; v-structures ", v_found,
          " of ", tv.size(), " (", lv.size(), " learned); true edges whose child comes first ", late);
  REQUIRE(true_edges >= 10);
  REQUIRE(tv.size() >= 3);
  CHECK(found == true_edges);
  CHECK(extra <= 3);
  CHECK(v_found >= 2);
  CHECK(late <= 5);
  CHECK(dag.score > ef::dag_score(codes, N, levels, truth) - 0.015);
  for (int c = 0; c < V; ++c)  // the order is topological for the learned graph
    for (int p : dag.parents[size_t(c)]) CHECK(position(dag.order, p) < position(dag.order, c));
}

TEST_CASE("structure search: a model in dag order stores it, reloads it, and samples --given exactly") {
  const int N = 800;
  const std::vector<int> codes = chain_codes(N, 9);
  echoflow::Table t;
  const char* names[] = {"a", "b", "c", "d", "e", "f"};
  for (int j = 0; j < 6; ++j) {
    std::vector<std::string> l(static_cast<size_t>(N));
    for (int r = 0; r < N; ++r) l[size_t(r)] = "L" + std::to_string(codes[size_t(r) * 6 + size_t(j)]);
    t.columns.push_back(echoflow::Column::categorical(names[j], l));
  }
  echoflow::FitOptions opt;
  opt.threads = 1;
  opt.train.epochs = 20;
  opt.flow.hidden = {16};
  opt.categorical_order = "dag";
  opt.conditional = {"b"};  // block C (chain x0); the order is over the other five columns
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  const std::string path = std::string("structure_search_test_") + std::to_string(::getpid()) + ".efm";
  m.save(path);
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  uint32_t hlen = 0;
  std::memcpy(&hlen, bytes.data() + 12, 4);
  const nlohmann::json h = nlohmann::json::parse(bytes.substr(16, hlen));
  REQUIRE(h.contains("categorical_order"));
  const std::vector<int> order = h["categorical_order"].get<std::vector<int>>();
  CHECK(std::vector<int>(order.begin(), order.end()) != std::vector<int>{0, 2, 3, 4, 5});  // not the table's
  CHECK(std::set<int>(order.begin(), order.end()) == std::set<int>{0, 2, 3, 4, 5});
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  const std::vector<double> s1 = m.score(t), s2 = back.score(t);
  REQUIRE(s1.size() == s2.size());
  for (size_t r = 0; r < s1.size(); r += 37) CHECK(s2[r] == doctest::Approx(s1[r]).epsilon(1e-6));

  // Exact conditional: p(d | b = L1) from the model's own masses of all 729 rows, against the
  // share of d's levels in rows sampled --given b = L1 (d is chain x1, b's neighbour;
  // binomial 4.5 sigma).
  echoflow::Table all;
  std::vector<std::vector<std::string>> cols(6);
  for (int x = 0; x < 729; ++x)
    for (int j = 0; j < 6; ++j) {
      int v = x;
      for (int k = 0; k < j; ++k) v /= 3;
      cols[size_t(j)].push_back("L" + std::to_string(v % 3));
    }
  for (int j = 0; j < 6; ++j) all.columns.push_back(echoflow::Column::categorical(names[j], cols[size_t(j)]));
  const std::vector<double> lp = back.score(all);
  std::vector<double> pc(3, 0.0);
  double pd = 0;
  for (int x = 0; x < 729; ++x)
    if (cols[1][size_t(x)] == "L1") {
      const double p = std::exp(lp[size_t(x)]);
      pd += p;
      pc[size_t(cols[3][size_t(x)][1] - '0')] += p;
    }
  const size_t n = 6000;
  const echoflow::Table s = back.sample(n, {{"b", "L1"}}, 11);
  std::vector<double> share(3, 0.0);
  for (size_t r = 0; r < n; ++r) {
    REQUIRE(s.columns[1].labels[r] == "L1");
    share[size_t(s.columns[3].labels[r][1] - '0')] += 1.0 / double(n);
  }
  for (int k = 0; k < 3; ++k) {
    const double p = pc[size_t(k)] / pd;
    CHECK(std::fabs(share[size_t(k)] - p) < 4.5 * std::sqrt(p * (1 - p) / double(n)));
  }
}
