// The learned DAG order (host/structure_search.hpp, model.categorical_order = "dag"): the
// search recovers a known network's parents from its rows, its order puts every parent before
// its child where the Chow-Liu order does not, and a model fitted in it keeps (and reloads) the
// order and samples `--given` a conditional column exactly.
#include <algorithm>
#include <cmath>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bif.hpp"
#include "column_order.hpp"
#include "flow_math.hpp"
#include "structure_search.hpp"
#include "test_util.hpp"

namespace {

// A v-structure and a chain: a -> c <- b, c -> d (a, b uniform on 3 levels; c = (a + b) mod 3
// with probability 0.9, else uniform; d copies c with probability 0.8). Stored in the columns
// d, c, b, a: the table order lists every child before its parents.
std::vector<int> vstructure_codes(int N, uint64_t seed) {
  std::vector<int> codes(size_t(N) * 4);
  auto level = [&](uint64_t s, int r) { return int(ef::math::rand_uniform(seed, s, uint64_t(r)) * 3) % 3; };
  for (int r = 0; r < N; ++r) {
    const int a = level(0, r), b = level(1, r);
    const int c = ef::math::rand_uniform(seed, 2, uint64_t(r)) < 0.9 ? (a + b) % 3 : level(3, r);
    const int d = ef::math::rand_uniform(seed, 4, uint64_t(r)) < 0.8 ? c : level(5, r);
    int* row = codes.data() + size_t(r) * 4;
    row[0] = d;
    row[1] = c;
    row[2] = b;
    row[3] = a;
  }
  return codes;
}

int position(const std::vector<int>& order, int g) {
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] == g) return int(i);
  return -1;
}

}  // namespace

TEST_CASE("structure search: a v-structure's parents are found and the order puts them first") {
  const int N = 3000;
  const std::vector<int> codes = vstructure_codes(N, 5);
  const ef::LearnedDag dag = ef::learn_dag(codes, N, std::vector<int>(4, 3));
  // Columns: 0 = d, 1 = c, 2 = b, 3 = a. c's parents are a and b (a v-structure is identified
  // by its data: a and b are independent, c depends on both jointly), d's is c.
  CHECK(dag.parents[1] == std::vector<int>{2, 3});
  CHECK(dag.parents[0] == std::vector<int>{1});
  CHECK(dag.parents[2].empty());
  CHECK(dag.parents[3].empty());
  CHECK(dag.edges == 3);
  CHECK(dag.score > dag.empty_score);
  CHECK(dag.order == std::vector<int>{2, 3, 1, 0});  // b, a (table order among the free), c, d
  // The Chow-Liu order starts from c (the most informative column), before a and b: this is the
  // case the dag order is for.
  const std::vector<int> tree = ef::dependence_order(codes, N, std::vector<int>(4, 3));
  CHECK(position(tree, 1) < std::max(position(tree, 2), position(tree, 3)));
}

TEST_CASE("structure search: topological order, ties by table order; a cycle is an error") {
  CHECK(ef::topological_order({{}, {}, {}}) == std::vector<int>{0, 1, 2});
  CHECK(ef::topological_order({{2}, {0}, {}}) == std::vector<int>{2, 0, 1});
  CHECK_THROWS(ef::topological_order({{1}, {0}}));
}

TEST_CASE("structure search: a random network's edges are recovered and oriented by the order") {
  const efbench::BayesNet net = efbench::random_network(12, 4);  // the BN CI test's network
  const int N = 5000;
  const std::vector<int> codes = net.sample(size_t(N), 1104);
  const int V = int(net.vars.size());
  std::vector<int> levels(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) levels[size_t(v)] = int(net.vars[size_t(v)].states.size());
  const ef::LearnedDag dag = ef::learn_dag(codes, N, levels);
  int true_edges = 0, found = 0, ordered = 0, table_ordered = 0;
  for (int c = 0; c < V; ++c)
    for (int p : net.vars[size_t(c)].parents) {
      ++true_edges;
      const auto& pa = dag.parents[size_t(c)];
      const auto& pb = dag.parents[size_t(p)];
      found += std::find(pa.begin(), pa.end(), p) != pa.end() || std::find(pb.begin(), pb.end(), c) != pb.end();
      ordered += position(dag.order, p) < position(dag.order, c);
      table_ordered += p < c;
    }
  MESSAGE("true edges ", true_edges, ", in the learned skeleton ", found, ", parent first in the dag order ", ordered,
          ", in table order ", table_ordered, "; learned edges ", dag.edges);
  REQUIRE(true_edges >= 10);
  CHECK(found >= true_edges * 8 / 10);
  CHECK(ordered >= true_edges * 8 / 10);
  CHECK(ordered > table_ordered);
}

TEST_CASE("structure search: a model in dag order stores it, reloads it, and samples --given exactly") {
  const int N = 800;
  const std::vector<int> codes = vstructure_codes(N, 9);
  echoflow::Table t;
  const char* names[] = {"d", "c", "b", "a"};
  for (int j = 0; j < 4; ++j) {
    std::vector<std::string> l(static_cast<size_t>(N));
    for (int r = 0; r < N; ++r) l[size_t(r)] = "L" + std::to_string(codes[size_t(r) * 4 + size_t(j)]);
    t.columns.push_back(echoflow::Column::categorical(names[j], l));
  }
  echoflow::FitOptions opt;
  opt.threads = 1;
  opt.train.epochs = 20;
  opt.flow.hidden = {16};
  opt.categorical_order = "dag";
  opt.conditional = {"d"};  // block C: the order is over c, b, a
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  const std::string path = std::string("structure_search_test_") + std::to_string(::getpid()) + ".efm";
  m.save(path);
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  uint32_t hlen = 0;
  std::memcpy(&hlen, bytes.data() + 12, 4);
  const nlohmann::json h = nlohmann::json::parse(bytes.substr(16, hlen));
  REQUIRE(h.contains("categorical_order"));
  CHECK(h["categorical_order"].get<std::vector<int>>() == std::vector<int>{2, 3, 1});  // b, a, c
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  const std::vector<double> s1 = m.score(t), s2 = back.score(t);
  REQUIRE(s1.size() == s2.size());
  for (size_t r = 0; r < s1.size(); r += 37) CHECK(s2[r] == doctest::Approx(s1[r]).epsilon(1e-6));

  // Exact conditional: p(c | d = L1) from the model's own masses of all 81 rows, against the
  // share of c's levels in rows sampled --given d = L1 (binomial 4.5 sigma).
  echoflow::Table all;
  std::vector<std::vector<std::string>> cols(4);
  for (int x = 0; x < 81; ++x)
    for (int j = 0; j < 4; ++j) {
      int v = x;
      for (int k = 0; k < j; ++k) v /= 3;
      cols[size_t(j)].push_back("L" + std::to_string(v % 3));
    }
  for (int j = 0; j < 4; ++j) all.columns.push_back(echoflow::Column::categorical(names[j], cols[size_t(j)]));
  const std::vector<double> lp = back.score(all);
  std::vector<double> pc(3, 0.0);
  double pd = 0;
  for (int x = 0; x < 81; ++x)
    if (cols[0][size_t(x)] == "L1") {
      const double p = std::exp(lp[size_t(x)]);
      pd += p;
      pc[size_t(cols[1][size_t(x)][1] - '0')] += p;
    }
  const size_t n = 6000;
  const echoflow::Table s = back.sample(n, {{"d", "L1"}}, 11);
  std::vector<double> share(3, 0.0);
  for (size_t r = 0; r < n; ++r) {
    REQUIRE(s.columns[0].labels[r] == "L1");
    share[size_t(s.columns[1].labels[r][1] - '0')] += 1.0 / double(n);
  }
  for (int k = 0; k < 3; ++k) {
    const double p = pc[size_t(k)] / pd;
    CHECK(std::fabs(share[size_t(k)] - p) < 4.5 * std::sqrt(p * (1 - p) / double(n)));
  }
}
