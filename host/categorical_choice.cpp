#include "categorical_choice.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "error.hpp"
#include "structure_search.hpp"
#include "tabular_model.hpp"

namespace ef {

namespace {

constexpr int kEncodeChunkRows = 8192;  // rows encoded at a time (codes are kept, values are not)

std::string prior_text(const CptPrior& p) {
  char b[48];
  std::snprintf(b, sizeof b, "%s %g", p.kind == CptPrior::Additive ? "additive" : p.kind == CptPrior::BDeu ? "BDeu" : "marginal", p.a);
  return b;
}

// Block R's codes (rows x G) of `rows`, rows the encoders reject left out; with made_terms, the
// trained model's categorical term of each kept row too.
void encode_codes(const echoflow::Model::Impl& I, const echoflow::Table& data, const std::vector<int>& rows,
                  std::vector<int>& out, std::vector<double>* made_terms) {
  const int G = I.spec.groups();
  std::vector<int> srcs(I.enc.size());
  for (size_t c = 0; c < srcs.size(); ++c) srcs[c] = int(c);
  std::vector<int> codes;
  std::vector<float> u, terms;
  std::vector<double> logj;
  std::vector<char> bad;
  const int M = 2 * int(I.spec.parts.size());
  for (size_t b = 0; b < rows.size(); b += kEncodeChunkRows) {
    const int B = int(std::min(rows.size() - b, size_t(kEncodeChunkRows)));
    I.encode(data, srcs, rows.data() + b, B, 0, -1, 1, 0, codes, u, logj, bad);
    if (made_terms) {
      terms.resize(size_t(B) * size_t(M));
      I.be->score_terms(codes.data(), u.data(), B, terms.data());
    }
    for (int r = 0; r < B; ++r) {
      if (bad[size_t(r)]) continue;
      out.insert(out.end(), codes.begin() + long(size_t(r) * size_t(G)), codes.begin() + long(size_t(r + 1) * size_t(G)));
      if (made_terms) made_terms->push_back(double(terms[size_t(r) * size_t(M)]));
    }
  }
}

// ef::learn_dag's graph of (up to kDagOrderMaxRows evenly spaced) rows of codes (n x G, the
// model's groups), searched with the groups in the order col_of lists them (position -> group;
// the search breaks ties by position) and returned per group.
std::vector<std::vector<int>> graph_of(const std::vector<int>& codes, const std::vector<int>& levels,
                                       const std::vector<int>& col_of) {
  const int G = int(col_of.size());
  const int n = int(codes.size() / size_t(G)), n_sub = std::min(n, kDagOrderMaxRows);
  std::vector<int> sub(size_t(n_sub) * size_t(G)), sub_levels(static_cast<size_t>(G));
  for (int i = 0; i < G; ++i) sub_levels[size_t(i)] = levels[size_t(col_of[size_t(i)])];
  for (int r = 0; r < n_sub; ++r) {
    const size_t src = size_t(r) * size_t(n) / size_t(std::max(n_sub, 1));
    for (int i = 0; i < G; ++i) sub[size_t(r) * size_t(G) + size_t(i)] = codes[src * size_t(G) + size_t(col_of[size_t(i)])];
  }
  const std::vector<std::vector<int>> pc = learn_dag(sub, n_sub, sub_levels).parents;
  std::vector<std::vector<int>> parents(static_cast<size_t>(G));
  for (int i = 0; i < G; ++i) {
    std::vector<int>& pa = parents[size_t(col_of[size_t(i)])];
    for (int p : pc[size_t(i)]) pa.push_back(col_of[size_t(p)]);
    std::sort(pa.begin(), pa.end());
  }
  return parents;
}

}  // namespace

TableVsMade one_se_rule(const std::vector<double>& table, const std::vector<double>& made) {
  EF_CHECK(table.size() == made.size(), "one_se_rule: ", table.size(), " and ", made.size(), " rows");
  TableVsMade r{NAN, 0, false};
  const size_t n = table.size();
  if (n == 0) return r;
  double m = 0;
  for (size_t i = 0; i < n; ++i) m += (table[i] - made[i]) / double(n);
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += (table[i] - made[i] - m) * (table[i] - made[i] - m);
  r.diff = m;
  r.se = n > 1 ? std::sqrt(ss / double(n - 1) / double(n)) : 0;
  // The table model is the simpler one (counts on a graph, no training noise), so it is kept
  // unless the MADE scores the rows better by more than one standard error of the difference:
  // where the two are within noise of each other the tables' draws stay on the configurations
  // the rows show (bench/results/QUALITY_DEFAULTS.md, "The count tables' choice by the one-standard-error rule").
  r.keep_table = std::isfinite(m) && m > -r.se;
  return r;
}

const std::vector<CptPrior>& cpt_prior_candidates() {
  // Light priors only: the validation rows barely tell the priors apart (0.005-0.02 nats a row),
  // but heavier smoothing moves mass onto configurations the data never shows, so the draws
  // spread out (bench/results/QUALITY_DEFAULTS.md, the priors table of the 2026-11-30 merge).
  static const std::vector<CptPrior> c = {{CptPrior::Additive, 0.1}, {CptPrior::BDeu, 5}, {CptPrior::Marginal, 1}};
  return c;
}

void choose_categorical_model(echoflow::Model::Impl& I, const echoflow::Table& data, const std::vector<char>& is_train,
                              const std::string& how, bool one_process) {
  EF_CHECK(how == "auto" || how == "made" || how == "table",
           "categorical_model must be \"auto\", \"made\" or \"table\" (got \"", how, "\")");
  // The graph of the dag order (Model::fit), taken here so it does not outlive the fit.
  std::vector<std::vector<int>> parents = std::move(I.dag_parents);
  I.dag_parents.clear();
  if (how == "made") return;
  const bool forced = how == "table";
  auto keep_made = [&](const std::string& why) {
    EF_CHECK(!forced, "categorical_model \"table\": ", why);
    I.train.categorical_model = "made (" + why + ")";
  };
  if (I.spec.c_parts > 0 || I.spec.parts.size() != 1)
    return keep_made("the table model is used only without conditional columns");
  if (I.spec.parts[0].levels.empty()) return;  // no categorical groups: nothing to choose
  // Measured: on penguins (numeric columns too) the tables' pseudo-counts tripled the share of
  // never-seen (species, island, sex) rows (bench/results/QUALITY_DEFAULTS.md, "A count-table
  // model"), so "auto" offers them to categorical-only tables.
  if (!forced && I.spec.dims() > 0) return keep_made("auto: the table model is offered to categorical-only tables");
  if (!one_process) return keep_made("the table model is not fitted over several processes");
  if (I.device != "auto" && I.device != "cpu") return keep_made("the table model runs on the CPU only");
  const int G = I.spec.groups();
  if (G > kDagOrderMaxGroups) return keep_made("more than " + std::to_string(kDagOrderMaxGroups) + " categorical columns");
  const std::vector<int>& levels = I.spec.parts[0].levels;

  std::vector<int> tr_rows, va_rows;
  for (size_t r = 0; r < is_train.size(); ++r) (is_train[r] ? tr_rows : va_rows).push_back(int(r));
  std::vector<int> tr, va;
  std::vector<double> made_terms;
  encode_codes(I, data, tr_rows, tr, nullptr);
  encode_codes(I, data, va_rows, va, &made_terms);
  const int n_tr = int(tr.size() / size_t(G)), n_va = int(va.size() / size_t(G));
  if (!forced && n_va == 0) return keep_made("no validation rows to choose by");

  // The graph whose order the MADE was trained in, when there is one (a search over the codes
  // in that order can stop at a worse graph: greedy moves, ties by column order); else one
  // learned from (up to kDagOrderMaxRows evenly spaced) training rows. The tables count all.
  std::vector<int> model_order(static_cast<size_t>(G));
  for (int g = 0; g < G; ++g) model_order[size_t(g)] = g;
  if (parents.size() != size_t(G)) parents = graph_of(tr, levels, model_order);
  int edges = 0;
  for (auto& pa : parents) edges += int(pa.size());

  TabularSpec spec = I.spec;
  spec.parts[0].cpt_parents = parents;
  spec.parts[0].cpt_order = topological_order(parents);
  std::vector<double> best_terms;  // the best prior's log-likelihood of each validation row
  CptPrior best = cpt_prior_candidates()[0];
  double best_ll = -INFINITY;
  {
    const TabularModel<float> tm(spec);
    const CategoricalTable<float>& table = *tm.table(0);
    std::vector<float> P(tm.num_params(), 0.f), lp;
    for (size_t i = 0; i < cpt_prior_candidates().size(); ++i) {
      const CptPrior& p = cpt_prior_candidates()[i];
      table.fit(P.data(), tr.data(), n_tr, p);
      lp.assign(size_t(n_va), 0.f);
      table.forward(P.data(), va.data(), n_va, lp.data());
      double s = 0;
      for (float x : lp) s += double(x);
      const double ll = n_va > 0 ? s / n_va : NAN;
      if (i == 0 || ll > best_ll) best_ll = ll, best = p, best_terms.assign(lp.begin(), lp.end());
    }
  }
  const TableVsMade cmp = one_se_rule(best_terms, made_terms);
  const double made_ll = best_ll - cmp.diff, se = cmp.se;
  const bool table_wins = forced || (std::isfinite(best_ll) && cmp.keep_table);
  char b[320];
  if (!table_wins) {
    std::snprintf(b, sizeof b, "made (validation log-likelihood %.4f a row against the table model's %.4f, se of the difference %.4f)",
                  made_ll, best_ll, se);
    I.train.categorical_model = b;
    return;
  }

  // Chosen: the graph, the prior and the tables again from every row (training and validation),
  // in row order, so the table model is not tied to the validation split the training seed drew.
  std::vector<int>().swap(tr);
  std::vector<int>().swap(va);
  std::vector<int> all_rows(is_train.size()), all;
  for (size_t r = 0; r < all_rows.size(); ++r) all_rows[r] = int(r);
  encode_codes(I, data, all_rows, all, nullptr);
  const int n_all = int(all.size() / size_t(G));
  // Searched in the table's column order: the model's order is the MADE's, which depends on the
  // split too.
  std::vector<int> column_order;  // table-order position -> model group
  for (size_t c = 0; c < I.col_group.size(); ++c)
    if (I.col_group[c] >= 0) column_order.push_back(I.col_group[c]);
  EF_CHECK(int(column_order.size()) == G, "table model: ", column_order.size(), " categorical columns for ", G, " groups");
  parents = graph_of(all, levels, column_order);
  int edges_all = 0;
  for (auto& pa : parents) edges_all += int(pa.size());
  spec.parts[0].cpt_parents = parents;
  spec.parts[0].cpt_order = topological_order(parents);
  const TabularModel<float> tm(spec);
  const CategoricalTable<float>& table = *tm.table(0);
  // The prior again, by leave-one-out likelihood of every row under the new graph.
  CptPrior prior = cpt_prior_candidates()[0];
  double best_loo = -INFINITY;
  for (const CptPrior& p : cpt_prior_candidates())
    if (const double loo = table.loo_loglik(all.data(), n_all, p); loo > best_loo) best_loo = loo, prior = p;
  std::vector<float> P(tm.num_params(), 0.f);
  std::snprintf(b, sizeof b,
                "table (validation log-likelihood %.4f a row against the MADE's %.4f, se of the difference %.4f; "
                "%d edges, prior %s; refitted on all %d rows: %d edges, prior %s by leave-one-out)",
                best_ll, made_ll, se, edges, prior_text(best).c_str(), n_all, edges_all, prior_text(prior).c_str());
  I.train.categorical_model = b;
  table.fit(P.data(), all.data(), n_all, prior);
  // The new parameters: the flow's tensors as trained (matched by name), the tables counted.
  const TabularModel<float> old(I.spec);
  for (const ParamTensor& t : tm.layout().tensors()) {
    if (t.name.rfind("part0.cat.", 0) == 0) continue;
    bool found = false;
    for (const ParamTensor& o : old.layout().tensors())
      if (o.name == t.name) {
        EF_CHECK(o.size == t.size, "parameter ", t.name, " changed size");
        std::copy(I.params.begin() + long(o.offset), I.params.begin() + long(o.offset + o.size), P.begin() + long(t.offset));
        found = true;
        break;
      }
    EF_CHECK(found, "parameter ", t.name, " has no trained value");
  }
  I.spec = spec;
  I.params = std::move(P);
  I.be.reset();
  I.lanes.clear();
}

}  // namespace ef
