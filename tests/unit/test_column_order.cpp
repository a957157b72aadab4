// The categorical model's column order (host/column_order.hpp): pairwise information, the
// Chow-Liu order, and that a fitted model keeps (and reloads) the order it was trained in.
#include <cmath>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "column_order.hpp"
#include "flow_math.hpp"
#include "test_util.hpp"

namespace {

// A chain x0 -> x1 -> ... -> x5 (3 levels; each copies its predecessor with probability 0.8,
// else a uniform level), stored in the scrambled column order `perm` (column j holds chain
// variable perm[j]). Returns codes (N, 6).
const std::vector<int> kPerm = {3, 0, 5, 1, 4, 2};

std::vector<int> chain_codes(int N, uint64_t seed) {
  const int V = 6;
  std::vector<int> codes(size_t(N) * V);
  for (int r = 0; r < N; ++r) {
    std::vector<int> x(V);
    for (int v = 0; v < V; ++v) {
      const double u = ef::math::rand_uniform(seed, uint64_t(v), uint64_t(r));
      const int fresh = int(ef::math::rand_uniform(seed, uint64_t(100 + v), uint64_t(r)) * 3) % 3;
      x[size_t(v)] = v > 0 && u < 0.8 ? x[size_t(v - 1)] : fresh;
    }
    for (int j = 0; j < V; ++j) codes[size_t(r) * V + size_t(j)] = x[size_t(kPerm[size_t(j)])];
  }
  return codes;
}

// Whether every chain variable after the first in `order` (column indices) has a chain
// neighbour before it: the order of a tree that is the chain.
bool follows_chain(const std::vector<int>& order) {
  std::set<int> before;
  for (size_t i = 0; i < order.size(); ++i) {
    const int v = kPerm[size_t(order[i])];
    if (i > 0 && !before.count(v - 1) && !before.count(v + 1)) return false;
    before.insert(v);
  }
  return true;
}

echoflow::Table chain_table(int N, uint64_t seed) {
  const std::vector<int> codes = chain_codes(N, seed);
  echoflow::Table t;
  const char* names[] = {"a", "b", "c", "d", "e", "f"};
  for (int j = 0; j < 6; ++j) {
    std::vector<std::string> l(static_cast<size_t>(N));
    for (int r = 0; r < N; ++r) l[size_t(r)] = "L" + std::to_string(codes[size_t(r) * 6 + size_t(j)]);
    t.columns.push_back(echoflow::Column::categorical(names[j], l));
  }
  return t;
}

}  // namespace

TEST_CASE("column order: mutual information of a copy is the entropy, of independent columns ~0") {
  const int N = 4000;
  std::vector<int> codes(size_t(N) * 3);
  for (int r = 0; r < N; ++r) {
    codes[size_t(r) * 3] = int(ef::math::rand_uniform(1, 0, uint64_t(r)) * 4) % 4;
    codes[size_t(r) * 3 + 1] = codes[size_t(r) * 3];
    codes[size_t(r) * 3 + 2] = int(ef::math::rand_uniform(1, 1, uint64_t(r)) * 4) % 4;
  }
  CHECK(ef::mutual_information(codes, N, 3, 0, 1, 4, 4) == doctest::Approx(std::log(4.0)).epsilon(0.01));
  CHECK(ef::mutual_information(codes, N, 3, 0, 2, 4, 4) < 0.003);
  // Many levels (the sorted joint count): the same figure as the dense table.
  CHECK(ef::mutual_information(codes, N, 3, 0, 1, 300, 300) ==
        doctest::Approx(ef::mutual_information(codes, N, 3, 0, 1, 4, 4)).epsilon(0.01));
}

TEST_CASE("column order: the dependence order of a scrambled chain follows the chain") {
  const int N = 2000;
  const std::vector<int> codes = chain_codes(N, 7);
  std::vector<int> table(6);
  for (int j = 0; j < 6; ++j) table[size_t(j)] = j;
  REQUIRE_FALSE(follows_chain(table));  // the table's own order does not
  const std::vector<int> order = ef::dependence_order(codes, N, std::vector<int>(6, 3));
  REQUIRE(order.size() == 6);
  CHECK(std::set<int>(order.begin(), order.end()).size() == 6);
  CHECK(follows_chain(order));
}

TEST_CASE("column order: a fitted model stores its order, and the loaded model scores the same") {
  const echoflow::Table t = chain_table(600, 3);
  echoflow::FitOptions opt;
  opt.threads = 1;
  opt.train.epochs = 3;
  opt.flow.hidden = {16};
  CHECK(opt.categorical_order == "dag");  // the default (bench/results/QUALITY_DEFAULTS.md)
  opt.categorical_order = "dependence";
  // The order is the MADE's: on this categorical-only table "auto" may keep the count tables,
  // whose masses do not depend on it (host/categorical_choice.hpp).
  opt.categorical_model = "made";
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  const std::string path = std::string("column_order_test_") + std::to_string(::getpid()) + ".efm";
  m.save(path);
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  uint32_t hlen = 0;
  std::memcpy(&hlen, bytes.data() + 12, 4);
  const nlohmann::json h = nlohmann::json::parse(bytes.substr(16, hlen));
  REQUIRE(h.contains("categorical_order"));
  CHECK(follows_chain(h["categorical_order"].get<std::vector<int>>()));
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  const std::vector<double> a = m.score(t), b = back.score(t);
  REQUIRE(a.size() == b.size());
  for (size_t r = 0; r < a.size(); r += 37) CHECK(b[r] == doctest::Approx(a[r]).epsilon(1e-6));
  // "table" keeps the table's order and writes none; its model is another one (same seeds).
  opt.categorical_order = "table";
  const echoflow::Model mt = echoflow::Model::fit(t, opt);
  CHECK(mt.score(t)[0] != doctest::Approx(a[0]).epsilon(1e-6));
  mt.save(path);
  std::ifstream g(path, std::ios::binary);
  std::string bytes2((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
  std::memcpy(&hlen, bytes2.data() + 12, 4);
  CHECK_FALSE(nlohmann::json::parse(bytes2.substr(16, hlen)).contains("categorical_order"));
  std::remove(path.c_str());
}
