#include "bif.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "rng.hpp"

namespace efbench {

namespace {

bool is_punct(char c) {
  return c == '{' || c == '}' || c == '[' || c == ']' || c == '(' || c == ')' || c == ',' || c == ';' ||
         c == '|';
}

std::vector<std::string> tokenize(const std::string& text) {
  std::vector<std::string> t;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      const size_t e = text.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
      continue;
    }
    if (is_punct(c)) { t.emplace_back(1, c); ++i; continue; }
    size_t j = i;
    while (j < n && !std::isspace(static_cast<unsigned char>(text[j])) && !is_punct(text[j])) ++j;
    t.push_back(text.substr(i, j - i));
    i = j;
  }
  return t;
}

struct Parser {
  const std::vector<std::string>& t;
  const std::string& path;
  size_t i = 0;
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(path + ": BIF: " + what + " (token " + std::to_string(i) +
                             (i < t.size() ? ", near \"" + t[i] + "\")" : ", at the end)"));
  }
  bool done() const { return i >= t.size(); }
  const std::string& peek() const {
    if (done()) fail("unexpected end of file");
    return t[i];
  }
  std::string next() {
    const std::string s = peek();
    ++i;
    return s;
  }
  void expect(const std::string& s) {
    if (next() != s) { --i; fail("expected \"" + s + "\""); }
  }
  void skip_block() {  // at "{": skips to the matching "}"
    expect("{");
    int depth = 1;
    while (depth > 0) {
      const std::string s = next();
      if (s == "{") ++depth;
      if (s == "}") --depth;
    }
  }
  double number() {
    const std::string s = next();
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0' || !std::isfinite(v) || v < 0) { --i; fail("expected a probability"); }
    return v;
  }
  // Comma-separated items up to (not including) `stop`.
  std::vector<std::string> list(const std::string& stop) {
    std::vector<std::string> out;
    while (peek() != stop) {
      if (peek() == ",") { ++i; continue; }
      out.push_back(next());
    }
    return out;
  }
  std::vector<double> numbers(const std::string& stop) {
    std::vector<double> out;
    while (peek() != stop) {
      if (peek() == ",") { ++i; continue; }
      out.push_back(number());
    }
    return out;
  }
};

}  // namespace

BayesNet parse_bif(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  const auto toks = tokenize(text);
  Parser p{toks, path};
  BayesNet net;
  std::map<std::string, int> index;
  std::vector<char> has_cpt;
  while (!p.done()) {
    const std::string kw = p.next();
    if (kw == "network") {
      while (p.peek() != "{") p.next();
      p.skip_block();
    } else if (kw == "variable") {
      BnVar v;
      v.name = p.next();
      if (index.count(v.name)) p.fail("variable " + v.name + " declared twice");
      p.expect("{");
      while (p.peek() != "}") {
        const std::string k = p.next();
        if (k == "type") {
          p.expect("discrete");
          p.expect("[");
          const int n = std::atoi(p.next().c_str());
          p.expect("]");
          p.expect("{");
          v.states = p.list("}");
          p.expect("}");
          p.expect(";");
          if (n <= 0 || size_t(n) != v.states.size())
            p.fail("variable " + v.name + " declares " + std::to_string(n) + " states, lists " +
                   std::to_string(v.states.size()));
        } else {  // property ...;
          while (p.next() != ";") {}
        }
      }
      p.expect("}");
      if (v.states.empty()) p.fail("variable " + v.name + " has no discrete type");
      index[v.name] = int(net.vars.size());
      net.vars.push_back(std::move(v));
      has_cpt.push_back(0);
    } else if (kw == "probability") {
      p.expect("(");
      const std::string child = p.next();
      auto it = index.find(child);
      if (it == index.end()) p.fail("probability of undeclared variable " + child);
      BnVar& v = net.vars[it->second];
      std::vector<std::string> pars;
      if (p.peek() == "|") {
        p.next();
        pars = p.list(")");
      }
      p.expect(")");
      v.parents.clear();
      std::vector<int> stride;
      for (auto& name : pars) {
        auto pi = index.find(name);
        if (pi == index.end()) p.fail("unknown parent " + name + " of " + child);
        v.parents.push_back(pi->second);
      }
      v.configs = 1;
      for (int q : v.parents) v.configs *= int(net.vars[q].states.size());
      const int k = int(v.states.size());
      v.cpt.assign(size_t(v.configs) * k, std::nan(""));
      p.expect("{");
      while (p.peek() != "}") {
        const std::string e = p.next();
        if (e == "table") {
          const auto vals = p.numbers(";");
          p.expect(";");
          if (vals.size() != v.cpt.size()) p.fail("table of " + child + " has the wrong size");
          // BIF "table": the child's state varies slowest, then the parents (last fastest).
          for (int s = 0; s < k; ++s)
            for (int c = 0; c < v.configs; ++c) v.cpt[size_t(c) * k + s] = vals[size_t(s) * v.configs + c];
        } else if (e == "default") {
          const auto vals = p.numbers(";");
          p.expect(";");
          if (int(vals.size()) != k) p.fail("default row of " + child + " has the wrong size");
          for (int c = 0; c < v.configs; ++c)
            for (int s = 0; s < k; ++s)
              if (std::isnan(v.cpt[size_t(c) * k + s])) v.cpt[size_t(c) * k + s] = vals[s];
        } else if (e == "(") {
          const auto labels = p.list(")");
          p.expect(")");
          if (labels.size() != v.parents.size()) p.fail("CPT row of " + child + ": wrong number of parent states");
          int c = 0;
          for (size_t j = 0; j < labels.size(); ++j) {
            const auto& st = net.vars[v.parents[j]].states;
            int code = -1;
            for (size_t s = 0; s < st.size(); ++s)
              if (st[s] == labels[j]) code = int(s);
            if (code < 0) p.fail("CPT row of " + child + ": unknown state " + labels[j]);
            c = c * int(st.size()) + code;
          }
          const auto vals = p.numbers(";");
          p.expect(";");
          if (int(vals.size()) != k) p.fail("CPT row of " + child + " has the wrong size");
          for (int s = 0; s < k; ++s) v.cpt[size_t(c) * k + s] = vals[s];
        } else {
          --p.i;
          p.fail("unsupported CPT entry for " + child);
        }
      }
      p.expect("}");
      for (int c = 0; c < v.configs; ++c) {
        double sum = 0;
        for (int s = 0; s < k; ++s) {
          const double x = v.cpt[size_t(c) * k + s];
          if (std::isnan(x)) p.fail("CPT of " + child + " is incomplete");
          sum += x;
        }
        if (std::fabs(sum - 1) > 1e-3) p.fail("CPT row of " + child + " does not sum to 1");
        for (int s = 0; s < k; ++s) v.cpt[size_t(c) * k + s] /= sum;
      }
      has_cpt[it->second] = 1;
    } else {
      --p.i;
      p.fail("expected \"network\", \"variable\" or \"probability\"");
    }
  }
  for (size_t v = 0; v < net.vars.size(); ++v)
    if (!has_cpt[v]) throw std::runtime_error(path + ": BIF: no CPT for " + net.vars[v].name);
  if (net.vars.empty()) throw std::runtime_error(path + ": BIF: no variables");
  // Topological order (declaration order among the ready ones).
  std::vector<char> done(net.vars.size(), 0);
  while (net.order.size() < net.vars.size()) {
    const size_t before = net.order.size();
    for (size_t v = 0; v < net.vars.size(); ++v) {
      if (done[v]) continue;
      bool ready = true;
      for (int q : net.vars[v].parents) ready &= bool(done[q]);
      if (ready) {
        done[v] = 1;
        net.order.push_back(int(v));
      }
    }
    if (net.order.size() == before) throw std::runtime_error(path + ": BIF: the network has a cycle");
  }
  return net;
}

int BayesNet::config_of(int v, const int* row) const {
  int c = 0;
  for (int q : vars[v].parents) c = c * int(vars[q].states.size()) + row[q];
  return c;
}

std::vector<int> BayesNet::sample(size_t n, uint64_t seed) const {
  const size_t V = vars.size();
  std::vector<int> rows(n * V, 0);
  Rng rng(seed);
  for (size_t r = 0; r < n; ++r) {
    int* row = &rows[r * V];
    for (int v : order) {
      const BnVar& x = vars[v];
      const int k = int(x.states.size());
      const double* pr = &x.cpt[size_t(config_of(v, row)) * k];
      const double u = rng.uniform();
      double cum = 0;
      int s = k - 1;
      for (int j = 0; j < k; ++j) {
        cum += pr[j];
        if (u < cum) { s = j; break; }
      }
      row[v] = s;
    }
  }
  return rows;
}

std::vector<double> BayesNet::loglik(const std::vector<int>& rows,
                                     const std::vector<std::vector<double>>* cpts) const {
  const size_t V = vars.size(), n = rows.size() / V;
  std::vector<double> ll(n, 0.0);
  for (size_t r = 0; r < n; ++r) {
    const int* row = &rows[r * V];
    for (size_t v = 0; v < V; ++v) {
      const int k = int(vars[v].states.size());
      const std::vector<double>& t = cpts ? (*cpts)[v] : vars[v].cpt;
      ll[r] += std::log(t[size_t(config_of(int(v), row)) * k + row[v]]);
    }
  }
  return ll;
}

std::vector<std::vector<double>> BayesNet::fit(const std::vector<int>& rows, double pseudocount) const {
  const size_t V = vars.size(), n = rows.size() / V;
  std::vector<std::vector<double>> out(V);
  for (size_t v = 0; v < V; ++v) {
    const int k = int(vars[v].states.size());
    std::vector<double> counts(vars[v].cpt.size(), 0.0);
    for (size_t r = 0; r < n; ++r) {
      const int* row = &rows[r * V];
      counts[size_t(config_of(int(v), row)) * k + row[v]] += 1;
    }
    for (int c = 0; c < vars[v].configs; ++c) {
      double tot = 0;
      for (int s = 0; s < k; ++s) tot += counts[size_t(c) * k + s];
      const double den = tot + pseudocount * k;
      for (int s = 0; s < k; ++s) {
        double& x = counts[size_t(c) * k + s];
        x = den > 0 ? (x + pseudocount) / den : 1.0 / k;
      }
    }
    out[v] = std::move(counts);
  }
  return out;
}

BayesNet random_network(int V, uint64_t seed) {
  Rng rng(seed);
  BayesNet net;
  net.vars.resize(size_t(V));
  std::vector<int> perm(static_cast<size_t>(V));
  for (int i = 0; i < V; ++i) perm[size_t(i)] = i;
  for (int i = V - 1; i > 0; --i) std::swap(perm[size_t(i)], perm[rng.below(uint64_t(i) + 1)]);
  for (int t = 0; t < V; ++t) {  // perm[t] is the variable at topological position t
    BnVar& x = net.vars[size_t(perm[size_t(t)])];
    x.name = "v" + std::to_string(perm[size_t(t)]);
    const int k = 2 + int(rng.below(3));
    for (int s = 0; s < k; ++s) x.states.push_back("s" + std::to_string(s));
    const int np = t == 0 ? 0 : int(rng.below(uint64_t(std::min(t, 3)) + 1));
    std::vector<int> cand(perm.begin(), perm.begin() + t);
    for (int j = 0; j < np; ++j) {
      const size_t q = size_t(rng.below(cand.size()));
      x.parents.push_back(cand[q]);
      cand.erase(cand.begin() + long(q));
    }
    x.configs = 1;
    for (int q : x.parents) x.configs *= int(net.vars[size_t(q)].states.size());
    for (int c = 0; c < x.configs; ++c) {
      std::vector<double> w(static_cast<size_t>(k));
      double sum = 0;
      for (double& e : w) {
        const double u = rng.uniform();
        e = std::pow(std::max(u, 1e-12), 1.0 / 0.7) * -std::log(std::max(rng.uniform(), 1e-12));
        sum += e;
      }
      for (double e : w) x.cpt.push_back(e / sum);
    }
    net.order.push_back(perm[size_t(t)]);
  }
  return net;
}

}  // namespace efbench
