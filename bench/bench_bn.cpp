// bench_bn: Bayesian networks on defaults (issue 16), one network at a time, with config
// overrides, so a change to the categorical model can be measured on the rows efbench's quality
// suite reports (same rows, seeds and figures as efbench's run_bn_defaults):
//
//   bench_bn --net alarm [--seeds 0,1,2] [--set model.categorical_order=dependence]...
//   bench_bn --net random15:2          # efbench::random_network(15, 2)
//   bench_bn --net alarm --write-csv DIR      # DIR/train.csv, DIR/test.csv for a peer
//   bench_bn --net alarm --score-csv syn.csv  # a peer's synthetic rows: L_syn, L_test
//   bench_bn --net alarm --structure [--tabu 0]  # the learned DAG against the true network
//
// 10k train rows (seed 1000+i), 10k test rows (2000+i), 10k synthetic rows (sample seed 7); i is
// the network's index in asia, alarm, child, insurance, or 100 + net seed for random networks.
// L_syn is a mean over the synthetic rows, so it carries the sampler's own noise: its standard
// error (printed as "se") is 0.025-0.045 at 10k rows on these networks, and the range of three
// independent draws is about 1.7 se even for the true network. --syn-rows draws more rows, so
// the spread over training seeds measures the models rather than the draw. The real rows' own
// L_syn is one such draw too; the network's expected L_syn (20 more draws) is printed next to it.
// L_syn / L_test are SDGym's (efbench's definitions); "held-out" is the model's exact mean
// log-likelihood of the test rows next to the true network's. CPU seconds: user + sys of fit.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "bif.hpp"
#include "bn_rows.hpp"
#include "config.hpp"
#include "measures.hpp"
#include "structure_search.hpp"
#include "trainer.hpp"

namespace {

using efbench::bn_codes;
using efbench::bn_table;
using efbench::cpu_seconds;
using efbench::floored_mean;
using efbench::mean;

struct Scores {
  double l_syn, l_test, l_syn_se;
};
// The standard error of L_syn: the sd of the floored per-row terms over sqrt(rows).
double floored_se(const std::vector<double>& ll) {
  std::vector<double> f(ll.size());
  for (size_t i = 0; i < ll.size(); ++i) f[i] = std::log(std::exp(ll[i]) + 1e-8);
  const double m = mean(f);
  double ss = 0;
  for (double x : f) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(f.size() - 1) / double(f.size()));
}
Scores score(const efbench::BayesNet& net, const std::vector<int>& syn, const std::vector<int>& test) {
  const auto cpts = net.fit(syn, 0.0);
  const std::vector<double> ll = net.loglik(syn);
  return {floored_mean(ll), floored_mean(net.loglik(test, &cpts)), floored_se(ll)};
}

// The DAG order's search (host/structure_search.hpp) on the training rows a fit with `seed` uses
// (its validation split, up to kDagOrderMaxRows evenly spaced rows), against the true network:
// skeleton edges found in the true direction / reversed / missed / extra, v-structures (a -> c <- b,
// a and b not adjacent: with the skeleton they fix the Markov equivalence class) found / missed /
// extra, true edges p -> c whose child comes first in the learned order, the search's score of
// both graphs, and the held-out log-likelihood of each graph's CPTs refit on the rows (pseudocount 1).
void structure_report(const efbench::BayesNet& net, const std::vector<int>& train, const std::vector<int>& test,
                      int seed, const ef::DagSearchOptions& opt) {
  const int V = int(net.vars.size()), N = int(train.size() / size_t(V));
  ef::TrainOptions to;
  to.seed = uint64_t(seed);
  std::vector<int> tr, va;
  ef::validation_split(N, to, tr, va);
  std::sort(tr.begin(), tr.end());
  if (tr.size() > size_t(ef::kDagOrderMaxRows)) {
    std::vector<int> sub(size_t(ef::kDagOrderMaxRows));
    for (size_t i = 0; i < sub.size(); ++i) sub[i] = tr[i * tr.size() / sub.size()];
    tr.swap(sub);
  }
  std::vector<int> codes;
  for (int r : tr) codes.insert(codes.end(), train.begin() + long(r) * V, train.begin() + long(r + 1) * V);
  std::vector<int> levels(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) levels[size_t(v)] = int(net.vars[size_t(v)].states.size());
  const int n = int(tr.size());
  const double c0 = cpu_seconds();
  const ef::LearnedDag dag = ef::learn_dag(codes, n, levels, opt);
  const double cs = cpu_seconds() - c0;
  std::vector<std::vector<int>> truth(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) truth[size_t(v)] = net.vars[size_t(v)].parents;
  auto edge = [](const std::vector<std::vector<int>>& pa, int p, int c) {
    return std::find(pa[size_t(c)].begin(), pa[size_t(c)].end(), p) != pa[size_t(c)].end();
  };
  int t_edges = 0, same = 0, rev = 0, miss = 0, extra = 0, late = 0;
  std::vector<int> pos(static_cast<size_t>(V));
  for (int i = 0; i < V; ++i) pos[size_t(dag.order[size_t(i)])] = i;
  for (int c = 0; c < V; ++c)
    for (int p : truth[size_t(c)]) {
      ++t_edges;
      if (edge(dag.parents, p, c)) ++same;
      else if (edge(dag.parents, c, p)) ++rev;
      else ++miss;
      late += pos[size_t(c)] < pos[size_t(p)];
    }
  for (int c = 0; c < V; ++c)
    for (int p : dag.parents[size_t(c)]) extra += !edge(truth, p, c) && !edge(truth, c, p);
  auto vstructs = [&](const std::vector<std::vector<int>>& pa) {
    std::set<std::array<int, 3>> out;
    for (int c = 0; c < V; ++c)
      for (int a : pa[size_t(c)])
        for (int b : pa[size_t(c)])
          if (a < b && !edge(pa, a, b) && !edge(pa, b, a)) out.insert({a, c, b});
    return out;
  };
  const auto tv = vstructs(truth), lv = vstructs(dag.parents);
  int v_found = 0;
  for (const auto& x : tv) v_found += int(lv.count(x));
  std::string true_score = "n/a";
  try {
    true_score = std::to_string(ef::dag_score(codes, n, levels, truth, opt));
  } catch (const std::exception&) {  // a true family above the search's configuration cap
  }
  auto heldout = [&](const std::vector<std::vector<int>>& pa) {
    efbench::BayesNet g = net;
    for (int v = 0; v < V; ++v) {
      efbench::BnVar& x = g.vars[size_t(v)];
      x.parents = pa[size_t(v)];
      x.configs = 1;
      for (int q : x.parents) x.configs *= levels[size_t(q)];
      x.cpt.assign(size_t(x.configs) * x.states.size(), 0.0);
    }
    const auto cpts = g.fit(codes, 1.0);
    return mean(g.loglik(test, &cpts));
  };
  std::printf("seed %d: %d rows; edges %d (true %d): same %d, reversed %d, missed %d, extra %d; v-structures %zu "
              "(true %zu): found %d, missed %zu, extra %zu; true edges child first %d; score %.4f (true graph %s); "
              "held-out CPT %.4f (true graph %.4f); moves %d; search %.3f CPU s\n",
              seed, n, dag.edges, t_edges, same, rev, miss, extra, lv.size(), tv.size(), v_found, tv.size() - size_t(v_found),
              lv.size() - size_t(v_found), late, dag.score, true_score.c_str(), heldout(dag.parents), heldout(truth),
              dag.moves, cs);
  std::fflush(stdout);
}

// Prototype (branch cpt16): a table model on the learned DAG. Parents from ef::learn_dag on the
// training part of the model's validation split; CPTs by counting with a Dirichlet prior chosen by
// validation log-likelihood among additive pseudo-counts a (every cell), BDeu (ESS / (q r) a
// cell) and back-off to the marginal (m * p(x) a cell).
struct Prior {
  int kind;  // 0 additive, 1 BDeu, 2 marginal back-off
  double a;
};
std::string prior_name(const Prior& p) {
  char b[64];
  std::snprintf(b, sizeof b, "%s %g", p.kind == 0 ? "add" : p.kind == 1 ? "bdeu" : "marg", p.a);
  return b;
}
efbench::BayesNet table_model(const efbench::BayesNet& net, const std::vector<int>& rows, const ef::LearnedDag& dag,
                              const Prior& pr) {
  const size_t V = net.vars.size(), n = rows.size() / V;
  efbench::BayesNet tm;
  tm.vars.resize(V);
  tm.order = dag.order;
  for (size_t v = 0; v < V; ++v) {
    tm.vars[v].name = net.vars[v].name;
    tm.vars[v].states = net.vars[v].states;
    tm.vars[v].parents = dag.parents[v];
    int q = 1;
    for (int p : dag.parents[v]) q *= int(net.vars[size_t(p)].states.size());
    tm.vars[v].configs = q;
  }
  for (size_t v = 0; v < V; ++v) {
    const int k = int(net.vars[v].states.size()), q = tm.vars[v].configs;
    std::vector<double> marg(static_cast<size_t>(k), 0.0), cnt(size_t(q) * size_t(k), 0.0);
    for (size_t r = 0; r < n; ++r) {
      const int* row = &rows[r * V];
      marg[size_t(row[v])] += 1;
      cnt[size_t(tm.config_of(int(v), row)) * size_t(k) + size_t(row[v])] += 1;
    }
    for (int s = 0; s < k; ++s) marg[size_t(s)] = (marg[size_t(s)] + 0.5) / (double(n) + 0.5 * k);
    for (int c = 0; c < q; ++c) {
      double tot = 0;
      std::vector<double> a(static_cast<size_t>(k));
      for (int s = 0; s < k; ++s) {
        a[size_t(s)] = pr.kind == 0 ? pr.a : pr.kind == 1 ? pr.a / double(q * k) : pr.a * marg[size_t(s)];
        tot += cnt[size_t(c) * size_t(k) + size_t(s)] + a[size_t(s)];
      }
      for (int s = 0; s < k; ++s) {
        double& x = cnt[size_t(c) * size_t(k) + size_t(s)];
        x = (x + a[size_t(s)]) / tot;
      }
    }
    tm.vars[v].cpt = std::move(cnt);
  }
  return tm;
}
std::vector<int> pick_rows(const std::vector<int>& rows, size_t V, const std::vector<int>& idx) {
  std::vector<int> out(idx.size() * V);
  for (size_t i = 0; i < idx.size(); ++i)
    std::copy(rows.begin() + long(size_t(idx[i]) * V), rows.begin() + long(size_t(idx[i] + 1) * V), out.begin() + long(i * V));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_bn: Bayesian networks on defaults (L_syn, L_test, held-out), one network"};
  std::string net_name, datasets = EFBENCH_SOURCE_DIR "/../shared/datasets", write_dir, score_csv, seeds_s = "0,1,2";
  std::vector<std::string> sets;
  size_t N = 10000, syn_rows = 0;
  int threads = 1;
  app.add_option("--net", net_name, "asia | alarm | child | insurance | randomV:SEED")->required();
  app.add_option("--datasets", datasets, "shared datasets folder (bn/*.bif)");
  app.add_option("--seeds", seeds_s, "training seeds, comma-separated");
  app.add_option("--set", sets, "config override KEY=VALUE (repeatable)");
  app.add_option("--rows", N, "train / test / synthetic rows");
  app.add_option("--syn-rows", syn_rows, "synthetic rows per model (default: --rows)");
  app.add_option("--threads", threads, "train.threads");
  app.add_option("--write-csv", write_dir, "write DIR/train.csv and DIR/test.csv, then exit");
  app.add_option("--score-csv", score_csv, "score a synthetic CSV (a peer's rows), then exit");
  bool structure = false;
  ef::DagSearchOptions so;
  app.add_flag("--structure", structure, "the DAG order's search against the true network per seed, then exit");
  app.add_option("--tabu", so.tabu_moves, "--structure: tabu moves without a new best (0: greedy only)");
  app.add_option("--tenure", so.tabu_tenure, "--structure: tabu tenure (moves)");
  app.add_option("--bdeu", so.bdeu_ess, "--structure: BDeu equivalent sample size (0: BIC)");
  app.add_option("--max-parents", so.max_parents, "--structure: parents per group");
  bool table_proto = false;
  app.add_flag("--table-proto", table_proto, "prototype: a count-table model on the learned DAG instead of eftrain");
  CLI11_PARSE(app, argc, argv);
  try {
    const std::vector<std::string> bnlearn = {"asia", "alarm", "child", "insurance"};
    efbench::BayesNet net;
    int idx = 0;
    if (net_name.rfind("random", 0) == 0) {
      const size_t colon = net_name.find(':');
      const int V = std::stoi(net_name.substr(6, colon - 6));
      const int s = colon == std::string::npos ? 0 : std::stoi(net_name.substr(colon + 1));
      net = efbench::random_network(V, uint64_t(s));
      idx = 100 + s;
    } else {
      net = efbench::parse_bif(datasets + "/bn/" + net_name + ".bif");
      idx = int(std::find(bnlearn.begin(), bnlearn.end(), net_name) - bnlearn.begin());
    }
    const std::vector<int> train = net.sample(N, uint64_t(1000 + idx)), test = net.sample(N, uint64_t(2000 + idx));
    const Scores real = score(net, train, test);
    const double true_heldout = mean(net.loglik(test));
    if (!write_dir.empty()) {
      std::filesystem::create_directories(write_dir);
      echoflow::write_table(bn_table(net, train), write_dir + "/train.csv");
      echoflow::write_table(bn_table(net, test), write_dir + "/test.csv");
      std::printf("wrote %s/train.csv and test.csv (%zu rows each)\n", write_dir.c_str(), N);
      return 0;
    }
    // The network's own expected L_syn, over 20 more draws of N rows (seeds 7000+k): the real
    // rows' figure is one draw of it (alarm's training rows lie 2.5 draw-sds above it).
    double expected = 0;
    for (int k = 0; k < 20; ++k) expected += floored_mean(net.loglik(net.sample(N, uint64_t(7000 + k)))) / 20;
    std::printf("%s: %zu variables; real rows L_syn %.3f (se %.3f) L_test %.3f; true held-out %.3f; network's expected L_syn %.3f\n",
                net_name.c_str(), net.vars.size(), real.l_syn, real.l_syn_se, real.l_test, true_heldout, expected);
    if (structure) {
      std::stringstream ss(seeds_s);
      std::string tok;
      while (std::getline(ss, tok, ',')) structure_report(net, train, test, std::stoi(tok), so);
      return 0;
    }
    if (!score_csv.empty()) {
      echoflow::ReadOptions ro;
      for (const auto& v : net.vars) ro.types[v.name] = echoflow::ColumnType::Categorical;
      // Rows with a label outside the network (TabularARGN's `_RARE_`) have probability 0: in
      // L_syn they score the floor, log(0 + 1e-8); L_test's tables are fitted on the other rows.
      size_t outside = 0;
      const std::vector<int> syn = bn_codes(net, echoflow::read_table(score_csv, ro), &outside);
      if (syn.empty()) throw std::runtime_error(score_csv + ": no row holds only states of the network");
      Scores s = score(net, syn, test);
      const double kept = double(syn.size() / net.vars.size()), all = kept + double(outside);
      s.l_syn = (s.l_syn * kept + double(outside) * std::log(1e-8)) / all;
      std::printf("%s: %zu rows; L_syn %.3f (d %+.3f) L_test %.3f (d %+.3f)\n", score_csv.c_str(), size_t(all),
                  s.l_syn, s.l_syn - real.l_syn, s.l_test, s.l_test - real.l_test);
      if (outside > 0)
        std::printf("%zu rows hold a label that is not a state of the network: L_syn scores them at the floor, "
                    "L_test's tables are fitted on the other %zu\n", outside, size_t(kept));
      return 0;
    }
    std::vector<double> ls, lt;
    std::stringstream ss(seeds_s);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      const int seed = std::stoi(tok);
      if (table_proto) {
        const double c0 = cpu_seconds();
        const size_t V = net.vars.size();
        ef::TrainOptions to;
        to.seed = uint64_t(seed);
        std::vector<int> tr, va;
        ef::validation_split(int(N), to, tr, va);
        const std::vector<int> rtr = pick_rows(train, V, tr), rva = pick_rows(train, V, va);
        std::vector<int> levels(V);
        for (size_t v = 0; v < V; ++v) levels[v] = int(net.vars[v].states.size());
        const ef::LearnedDag dag = ef::learn_dag(rtr, int(tr.size()), levels);
        Prior best{0, 0};
        double best_val = -1e300;
        std::string line;
        for (const Prior& p : std::vector<Prior>{{0, 0.01}, {0, 0.1}, {0, 0.5}, {0, 1}, {1, 1}, {1, 5}, {1, 20}, {1, 100},
                                                 {2, 0.1}, {2, 1}, {2, 5}, {2, 20}}) {
          const double vl = mean(table_model(net, rtr, dag, p).loglik(rva));
          char b[96];
          std::snprintf(b, sizeof b, " %s:%.4f", prior_name(p).c_str(), vl);
          line += b;
          if (vl > best_val) best_val = vl, best = p;
        }
        const efbench::BayesNet tm = table_model(net, rtr, dag, best);
        const efbench::BayesNet tm_all = table_model(net, train, dag, best);
        const double cs = cpu_seconds() - c0;
        const std::vector<int> syn = tm.sample(N, 7);
        const Scores s = score(net, syn, test);
        ls.push_back(s.l_syn);
        lt.push_back(s.l_test);
        std::printf("seed %d: table model, %d edges, prior %s (val %.4f), %.2f CPU s; held-out %.3f (refit on train+val %.3f); "
                    "L_syn %.3f (d %+.3f) L_test %.3f (d %+.3f)\n   val:%s\n",
                    seed, dag.edges, prior_name(best).c_str(), best_val, cs, mean(tm.loglik(test)), mean(tm_all.loglik(test)),
                    s.l_syn, s.l_syn - real.l_syn, s.l_test, s.l_test - real.l_test, line.c_str());
        std::fflush(stdout);
        continue;
      }
      std::vector<std::string> ov = {"train.threads=" + std::to_string(threads), "train.seed=" + std::to_string(seed)};
      ov.insert(ov.end(), sets.begin(), sets.end());
      const ef::Config cfg = ef::parse_config("{\"data\": {\"path\": \"\"}}", "defaults", "", ov);
      const double c0 = cpu_seconds();
      echoflow::Model m = echoflow::Model::fit(bn_table(net, train), ef::fit_options(cfg));
      const double cs = cpu_seconds() - c0;
      const std::vector<int> syn = bn_codes(net, m.sample(syn_rows ? syn_rows : N, {}, 7));
      const Scores s = score(net, syn, test);
      ls.push_back(s.l_syn);
      lt.push_back(s.l_test);
      std::printf("seed %d: epochs %d (best %d), batch %d, %.1f CPU s; held-out %.3f; L_syn %.3f (d %+.3f, se %.3f) L_test %.3f (d %+.3f)\n",
                  seed, m.training().epochs_run, m.training().best_epoch, m.training().batch_size, cs,
                  mean(m.score(bn_table(net, test))), s.l_syn, s.l_syn - real.l_syn, s.l_syn_se, s.l_test,
                  s.l_test - real.l_test);
      if (!m.training().categorical_model.empty())
        std::printf("   categorical model: %s\n", m.training().categorical_model.c_str());
      std::fflush(stdout);
    }
    auto spread = [](const std::vector<double>& v) {
      return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
    };
    std::printf("mean L_syn %.3f (d %+.3f) L_test %.3f (d %+.3f); spread %.3f / %.3f\n", mean(ls), mean(ls) - real.l_syn,
                mean(lt), mean(lt) - real.l_test, spread(ls), spread(lt));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_bn: %s\n", e.what());
    return 1;
  }
  return 0;
}
