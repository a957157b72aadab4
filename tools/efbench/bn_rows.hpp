// A Bayesian network's rows (state indices, row-major: rows x variables) as an echoflow table of
// categorical columns and back, and SDGym's floored mean log-likelihood: what efbench's network
// rows, bench/bench_bn.cpp and the defaults test (tests/unit/test_defaults_bn.cpp) share.
#pragma once
#include <echoflow/echoflow.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bif.hpp"

namespace efbench {

inline echoflow::Table bn_table(const BayesNet& net, const std::vector<int>& rows) {
  const size_t V = net.vars.size(), n = rows.size() / V;
  echoflow::Table t;
  for (size_t v = 0; v < V; ++v) {
    std::vector<std::string> l(n);
    for (size_t r = 0; r < n; ++r) l[r] = net.vars[v].states[size_t(rows[r * V + v])];
    t.columns.push_back(echoflow::Column::categorical(net.vars[v].name, std::move(l)));
  }
  return t;
}

// The inverse of bn_table for a drawn or read table; a missing column or a label that is not a
// state of its variable is an error naming the row and column. With `outside`, such a row is left
// out instead and counted there (a peer's rows may hold its own tokens, like TabularARGN's
// `_RARE_`: rows the network gives no mass).
inline std::vector<int> bn_codes(const BayesNet& net, const echoflow::Table& t, size_t* outside = nullptr) {
  const size_t V = net.vars.size(), n = t.rows();
  std::vector<int> rows(n * V);
  std::vector<uint8_t> out(n, 0);
  for (size_t v = 0; v < V; ++v) {
    const int c = t.find(net.vars[v].name);
    if (c < 0) throw std::runtime_error("the synthetic table lacks column " + net.vars[v].name);
    std::map<std::string, int> idx;
    for (size_t k = 0; k < net.vars[v].states.size(); ++k) idx[net.vars[v].states[k]] = int(k);
    const echoflow::Column& col = t.columns[size_t(c)];
    for (size_t r = 0; r < n; ++r) {
      auto it = col.is_missing(r) ? idx.end() : idx.find(col.labels[r]);
      if (it == idx.end() && outside) {
        out[r] = 1;
        continue;
      }
      if (it == idx.end())
        throw std::runtime_error("row " + std::to_string(r + 1) + ", column " + net.vars[v].name + ": \"" +
                                 (col.is_missing(r) ? std::string("(missing)") : col.labels[r]) +
                                 "\" is not a state of the network");
      rows[r * V + v] = it->second;
    }
  }
  if (!outside) return rows;
  std::vector<int> kept;
  for (size_t r = 0; r < n; ++r)
    if (!out[r]) kept.insert(kept.end(), rows.begin() + long(r * V), rows.begin() + long((r + 1) * V));
  *outside = size_t(std::count(out.begin(), out.end(), uint8_t(1)));
  return kept;
}

// SDGym's floor: mean of log(P + 1e-8).
inline double floored_mean(const std::vector<double>& ll) {
  double t = 0;
  for (double x : ll) t += std::log(std::exp(x) + 1e-8);
  return t / double(ll.size());
}

}  // namespace efbench
