// bench_bn: Bayesian networks on defaults (issue 16), one network at a time, with config
// overrides, so a change to the categorical model can be measured on the rows efbench's quality
// suite reports (same rows, seeds and figures as efbench's run_bn_defaults):
//
//   bench_bn --net alarm [--seeds 0,1,2] [--set model.categorical_order=dependence]...
//   bench_bn --net random15:2          # efbench::random_network(15, 2)
//   bench_bn --net alarm --write-csv DIR      # DIR/train.csv, DIR/test.csv for a peer
//   bench_bn --net alarm --score-csv syn.csv  # a peer's synthetic rows: L_syn, L_test
//
// 10k train rows (seed 1000+i), 10k test rows (2000+i), 10k synthetic rows (sample seed 7); i is
// the network's index in asia, alarm, child, insurance, or 100 + net seed for random networks.
// L_syn / L_test are SDGym's (efbench's definitions); "held-out" is the model's exact mean
// log-likelihood of the test rows next to the true network's. CPU seconds: user + sys of fit.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <vector>

#include <echoflow/echoflow.hpp>

#include "bif.hpp"
#include "bn_rows.hpp"
#include "config.hpp"
#include "structure_search.hpp"
#include "trainer.hpp"

namespace {

using efbench::bn_codes;
using efbench::bn_table;
using efbench::floored_mean;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double mean(const std::vector<double>& v) {
  double t = 0;
  for (double x : v) t += x;
  return t / double(v.size());
}
struct Scores {
  double l_syn, l_test;
};
Scores score(const efbench::BayesNet& net, const std::vector<int>& syn, const std::vector<int>& test) {
  const auto cpts = net.fit(syn, 0.0);
  return {floored_mean(net.loglik(syn)), floored_mean(net.loglik(test, &cpts))};
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
  size_t N = 10000;
  int threads = 1;
  app.add_option("--net", net_name, "asia | alarm | child | insurance | randomV:SEED")->required();
  app.add_option("--datasets", datasets, "shared datasets folder (bn/*.bif)");
  app.add_option("--seeds", seeds_s, "training seeds, comma-separated");
  app.add_option("--set", sets, "config override KEY=VALUE (repeatable)");
  app.add_option("--rows", N, "train / test / synthetic rows");
  app.add_option("--threads", threads, "train.threads");
  app.add_option("--write-csv", write_dir, "write DIR/train.csv and DIR/test.csv, then exit");
  app.add_option("--score-csv", score_csv, "score a synthetic CSV (a peer's rows), then exit");
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
    std::printf("%s: %zu variables; real rows L_syn %.3f L_test %.3f; true held-out %.3f\n", net_name.c_str(),
                net.vars.size(), real.l_syn, real.l_test, true_heldout);
    if (!score_csv.empty()) {
      echoflow::ReadOptions ro;
      for (const auto& v : net.vars) ro.types[v.name] = echoflow::ColumnType::Categorical;
      const std::vector<int> syn = bn_codes(net, echoflow::read_table(score_csv, ro));
      const Scores s = score(net, syn, test);
      std::printf("%s: %zu rows; L_syn %.3f (d %+.3f) L_test %.3f (d %+.3f)\n", score_csv.c_str(), syn.size() / net.vars.size(),
                  s.l_syn, s.l_syn - real.l_syn, s.l_test, s.l_test - real.l_test);
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
      const std::vector<int> syn = bn_codes(net, m.sample(N, {}, 7));
      const Scores s = score(net, syn, test);
      ls.push_back(s.l_syn);
      lt.push_back(s.l_test);
      std::printf("seed %d: epochs %d (best %d), batch %d, %.1f CPU s; held-out %.3f; L_syn %.3f (d %+.3f) L_test %.3f (d %+.3f)\n",
                  seed, m.training().epochs_run, m.training().best_epoch, m.training().batch_size, cs,
                  mean(m.score(bn_table(net, test))), s.l_syn, s.l_syn - real.l_syn, s.l_test, s.l_test - real.l_test);
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
