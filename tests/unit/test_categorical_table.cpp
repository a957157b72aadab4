// The count-table categorical model (engine/categorical_table.hpp) and its choice against the
// categorical MADE by validation likelihood (host/categorical_choice.hpp,
// model.categorical_model): exact masses, draws from them, a known network recovered from its
// rows, the model file round trip, the choice on tables where either model wins, and the
// backends that refuse it.
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend.hpp"
#include "bif.hpp"
#include "bn_rows.hpp"
#include "categorical_table.hpp"
#include "flow_math.hpp"
#include "test_util.hpp"

namespace {

// 2 x 3 x 2 x 4 levels; x1 <- x0, x2 <- {x0, x1}, x3 <- x2. Rows drawn from a fixed skewed
// network of that shape.
const std::vector<int> kCtLevels = {2, 3, 2, 4};
const std::vector<std::vector<int>> kCtParents = {{}, {0}, {0, 1}, {2}};
std::vector<int> ct_rows(int N, uint64_t seed) {
  std::vector<int> c(size_t(N) * 4);
  for (int r = 0; r < N; ++r) {
    auto u = [&](int g) { return ef::math::rand_uniform(seed, uint64_t(g), uint64_t(r)); };
    int* x = &c[size_t(r) * 4];
    x[0] = u(0) < 0.3 ? 1 : 0;
    x[1] = u(1) < (x[0] ? 0.7 : 0.2) ? 2 : int(u(5) * 2);
    x[2] = u(2) < 0.15 + 0.25 * x[1] + 0.2 * x[0] ? 1 : 0;
    x[3] = x[2] ? int(u(3) * 4) : (u(4) < 0.8 ? 0 : 3);
  }
  return c;
}

// Every combination of kCtLevels, row-major (x3 fastest).
std::vector<int> ct_all() {
  std::vector<int> out;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 2; ++c)
        for (int d = 0; d < 4; ++d) out.insert(out.end(), {a, b, c, d});
  return out;
}

// The categorical model "auto" chose for t on defaults (one thread), printed for the log.
std::string auto_choice(const echoflow::Table& t) {
  echoflow::FitOptions opt;
  opt.threads = 1;
  const std::string chosen = echoflow::Model::fit(t, opt).training().categorical_model;
  MESSAGE(chosen);
  return chosen;
}

// The log-masses of all 48 combinations of kCtLevels (ct_all's order) under table t.
std::vector<double> ct_all_masses(const ef::CategoricalTable<double>& t, const std::vector<double>& P) {
  const std::vector<int> all = ct_all();
  std::vector<double> lp(all.size() / 4, 0.0);
  t.forward(P.data(), all.data(), int(lp.size()), lp.data());
  return lp;
}

echoflow::Table bn_sample_table(const efbench::BayesNet& net, size_t n, uint64_t seed) {
  return efbench::bn_table(net, net.sample(n, seed));
}

}  // namespace

TEST_CASE("table model: the masses of all level combinations sum to 1, match the counts, and draws follow them") {
  ef::ParamLayout L;
  const ef::CategoricalTable<double> t(kCtLevels, kCtParents, {0, 1, 2, 3}, L, "t");
  std::vector<double> P(L.total());
  const int N = 600;
  const std::vector<int> rows = ct_rows(N, 5);
  for (const ef::CptPrior& prior : {ef::CptPrior{ef::CptPrior::Additive, 0.5}, ef::CptPrior{ef::CptPrior::BDeu, 5},
                                    ef::CptPrior{ef::CptPrior::Marginal, 1}}) {
    t.fit(P.data(), rows.data(), N, prior);
    double total = 0;
    for (double x : ct_all_masses(t, P)) total += std::exp(x);
    CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
  }
  // One cell by hand, additive 0.5: p(x3 = 0 | x2 = 1) = (n(x2=1, x3=0) + 0.5) / (n(x2=1) + 4 * 0.5).
  t.fit(P.data(), rows.data(), N, {ef::CptPrior::Additive, 0.5});
  double n1 = 0, n10 = 0;
  for (int r = 0; r < N; ++r)
    if (rows[size_t(r) * 4 + 2] == 1) {
      n1 += 1;
      n10 += rows[size_t(r) * 4 + 3] == 0;
    }
  CHECK(std::exp(P[t.offset(3) + 1 * 4 + 0]) == doctest::Approx((n10 + 0.5) / (n1 + 2.0)).epsilon(1e-12));
  // Draws: the share of each of the 48 combinations against its mass (4.5 binomial sigma).
  const int S = 40000;
  std::vector<int> drawn(size_t(S) * 4, -1);
  t.sample(P.data(), S, 17, 100, 0, drawn.data());
  const std::vector<double> lp = ct_all_masses(t, P);
  REQUIRE(lp.size() == 48);
  std::vector<double> share(48, 0.0);
  for (int r = 0; r < S; ++r) {
    const int* x = &drawn[size_t(r) * 4];
    share[size_t(((x[0] * 3 + x[1]) * 2 + x[2]) * 4 + x[3])] += 1.0 / S;
  }
  for (int k = 0; k < 48; ++k) {
    const double p = std::exp(lp[size_t(k)]);
    CHECK(std::fabs(share[size_t(k)] - p) < 4.5 * std::sqrt(p * (1 - p) / S) + 1e-4);
  }
}

TEST_CASE("table model: a known network's conditional probabilities are recovered from its rows") {
  const efbench::BayesNet net = efbench::random_network(6, 3);
  const int V = 6, N = 60000;
  const std::vector<int> rows = net.sample(size_t(N), 41);
  std::vector<int> levels(V);
  std::vector<std::vector<int>> parents(V);
  for (int v = 0; v < V; ++v) {
    levels[size_t(v)] = int(net.vars[size_t(v)].states.size());
    parents[size_t(v)] = net.vars[size_t(v)].parents;
    std::sort(parents[size_t(v)].begin(), parents[size_t(v)].end());
  }
  ef::ParamLayout L;
  const ef::CategoricalTable<double> t(levels, parents, net.order, L, "t");
  std::vector<double> P(L.total());
  t.fit(P.data(), rows.data(), N, {ef::CptPrior::Additive, 0.1});
  // Every conditional probability of the network against the fitted table's, where its parent
  // configuration has at least 1000 rows (binomial error <= 0.016 at 1 sigma; 0.05 is ~4 sigma).
  int compared = 0;
  for (int v = 0; v < V; ++v) {
    const efbench::BnVar& x = net.vars[size_t(v)];
    const int k = levels[size_t(v)];
    std::map<int, int> seen;  // the network's configuration -> rows
    std::map<int, int> ours;  // the network's configuration -> the table's
    for (int r = 0; r < N; ++r) {
      const int* row = &rows[size_t(r) * V];
      const int c = net.config_of(v, row);
      ++seen[c];
      int64_t q = 0;
      for (int p : parents[size_t(v)]) q = q * levels[size_t(p)] + row[p];
      ours[c] = int(q);
    }
    for (auto& [c, n] : seen) {
      if (n < 1000) continue;
      for (int s = 0; s < k; ++s) {
        const double truth = x.cpt[size_t(c) * size_t(k) + size_t(s)];
        const double got = std::exp(P[t.offset(v) + size_t(ours[c]) * size_t(k) + size_t(s)]);
        CHECK(std::fabs(got - truth) < 0.05);
        ++compared;
      }
    }
  }
  CHECK(compared >= 30);
  // And the joint: held-out rows' mean log-likelihood within 0.01 nats of the network's own.
  const std::vector<int> test = net.sample(5000, 42);
  std::vector<double> lp(5000, 0.0);
  t.forward(P.data(), test.data(), 5000, lp.data());
  const std::vector<double> truth = net.loglik(test);
  double d = 0;
  for (size_t r = 0; r < 5000; ++r) d += (lp[r] - truth[r]) / 5000;
  CHECK(std::fabs(d) < 0.01);
}

TEST_CASE("table model: the model file round trip gives identical scores and draws") {
  const efbench::BayesNet net = efbench::random_network(8, 2);
  const echoflow::Table t = bn_sample_table(net, 1500, 3);
  const echoflow::Model m = echoflow::Model::fit(t, eft::brief_fit(3, "table"));
  REQUIRE(m.training().categorical_model.rfind("table (", 0) == 0);
  const std::string path = std::string("categorical_table_test_") + std::to_string(::getpid()) + ".efm";
  m.save(path);
  const echoflow::Model back = echoflow::Model::load(path);
  std::remove(path.c_str());
  CHECK(back.training().categorical_model == m.training().categorical_model);
  const std::vector<double> s1 = m.score(t), s2 = back.score(t);
  REQUIRE(s1.size() == s2.size());
  bool same = true;
  for (size_t r = 0; r < s1.size(); ++r) same &= std::memcmp(&s1[r], &s2[r], sizeof(double)) == 0 && std::isfinite(s1[r]);
  CHECK(same);
  const echoflow::Table a = m.sample(400, {}, 9), b = back.sample(400, {}, 9);
  for (size_t c = 0; c < a.columns.size(); ++c) CHECK(a.columns[c].labels == b.columns[c].labels);
}

// A model file whose count-table graph the tables refuse (a parent listed twice: not ascending)
// behind a valid header length and checksum: the error names the file (it used to come from
// building the layout, after the header's own checks, without the path).
TEST_CASE("table model: a model file with parents the tables refuse is an error naming the file") {
  const efbench::BayesNet net = efbench::random_network(6, 2);
  const echoflow::FitOptions opt = eft::brief_fit(1, "table");
  const std::string path = std::string("categorical_table_bad_") + std::to_string(::getpid()) + ".efm";
  echoflow::Model::fit(bn_sample_table(net, 400, 3), opt).save(path);
  std::string img;
  {
    std::ifstream in(path, std::ios::binary);
    img.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(img.size() > 20);
  // magic (8), version (4), header length (4), header, parameters, CRC-32 (host/model_file.cpp)
  uint32_t hlen = 0;
  std::memcpy(&hlen, img.data() + 12, 4);
  nlohmann::json h = nlohmann::json::parse(img.substr(16, hlen));
  REQUIRE(h.contains("categorical_table"));
  h["categorical_table"]["parents"][5] = {0, 0};
  const std::string nh = h.dump();
  const uint32_t nlen = uint32_t(nh.size());
  std::string out = img.substr(0, 12);
  out.append(reinterpret_cast<const char*>(&nlen), 4);
  out += nh;
  out += img.substr(16 + size_t(hlen), img.size() - 16 - size_t(hlen) - 4);  // parameters, not the CRC
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  {
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o.write(out.data(), std::streamsize(out.size()));
  }
  CHECK_THROWS_WITH_AS(echoflow::Model::load(path), doctest::Contains((path + ": invalid model header: table model").c_str()),
                       std::exception);
  std::remove(path.c_str());
}

TEST_CASE("table model: auto keeps the table on a small network sample and the MADE where a column needs more parents") {
  // 1000 rows of a 10-variable network (at most 3 parents each): the tables fit it.
  {
    const efbench::BayesNet net = efbench::random_network(10, 5);
    CHECK(auto_choice(bn_sample_table(net, 1000, 7)).rfind("table (", 0) == 0);
  }
  // y = the majority of 7 fair bits: y needs all 7 as parents (the tables allow 3), while the
  // MADE's logistic layers represent a threshold of a sum directly.
  {
    const int N = 2000;
    echoflow::Table t;
    std::vector<std::vector<std::string>> cols(8, std::vector<std::string>(size_t(N)));
    for (int r = 0; r < N; ++r) {
      int s = 0;
      for (int j = 0; j < 7; ++j) {
        const int b = ef::math::rand_uniform(77, uint64_t(j), uint64_t(r)) < 0.5;
        s += b;
        cols[size_t(j)][size_t(r)] = b ? "y" : "n";
      }
      cols[7][size_t(r)] = s >= 4 ? "yes" : "no";
    }
    for (int j = 0; j < 8; ++j)
      t.columns.push_back(echoflow::Column::categorical(j < 7 ? "b" + std::to_string(j) : "majority", cols[size_t(j)]));
    CHECK(auto_choice(t).rfind("made (validation", 0) == 0);
  }
}

TEST_CASE("table model: not with conditional columns, and only on the CPU backend") {
  const efbench::BayesNet net = efbench::random_network(5, 1);
  const echoflow::Table t = bn_sample_table(net, 400, 2);
  echoflow::FitOptions opt = eft::brief_fit(2);
  opt.conditional = {net.vars[0].name};
  const echoflow::Model m = echoflow::Model::fit(t, opt);
  CHECK(m.training().categorical_model == "made (the table model is used only without conditional columns)");
  opt.categorical_model = "table";
  CHECK_THROWS_WITH_AS(echoflow::Model::fit(t, opt), doctest::Contains("without conditional columns"), std::exception);
  opt.categorical_model = "mlp";
  CHECK_THROWS_WITH_AS(echoflow::Model::fit(t, opt), doctest::Contains("categorical_model must be"), std::exception);
  // A numeric column too: "auto" keeps the MADE (measured on penguins), "table" still applies.
  {
    echoflow::Table mixed = t;
    std::vector<double> v(t.rows());
    for (size_t r = 0; r < v.size(); ++r) v[r] = ef::math::rand_normal(3, 0, r);
    mixed.columns.push_back(echoflow::Column::numeric("x", v));
    echoflow::FitOptions o = eft::brief_fit(2);
    CHECK(echoflow::Model::fit(mixed, o).training().categorical_model ==
          "made (auto: the table model is offered to categorical-only tables)");
    o.categorical_model = "table";
    CHECK(echoflow::Model::fit(mixed, o).training().categorical_model.rfind("table (", 0) == 0);
  }

  ef::TabularSpec spec;
  spec.flow.hidden = {8};
  ef::PartSpec ps;
  ps.levels = {2, 3};
  ps.cpt_parents = {{}, {0}};
  ps.cpt_order = {0, 1};
  spec.parts = {ps};
  CHECK(ef::make_backend("auto", spec)->name() == "cpu");
  CHECK_THROWS_WITH_AS(ef::make_backend("host-device", spec), doctest::Contains("count-table"), std::exception);
  spec.parts[0].cpt_parents.clear();
  spec.parts[0].cpt_order.clear();
  CHECK(ef::make_backend("host-device", spec)->name() != "cpu");
}
