#include "model_choice.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "communicator.hpp"
#include "trainer.hpp"

namespace ef {

namespace {

struct Candidate {
  FlowKind flow;
  bool standardize;  // numeric columns on encoder "auto" standardized instead of the default rule
};

std::string name_of(const Candidate& c, bool encoders) {
  std::string s = to_string(c.flow);
  if (encoders) s += c.standardize ? " + standardize" : " + auto encoders";
  return s;
}

}  // namespace

ModelChoice choose_model(const echoflow::Table& data, const echoflow::FitOptions& opt) {
  ModelChoice out;
  // Numeric columns whose encoder is left to the default rule; the flow models them.
  std::vector<std::string> free_cols;
  int numeric = 0;
  for (const auto& col : data.columns) {
    if (col.type == echoflow::ColumnType::Categorical) continue;
    ++numeric;
    const auto it = opt.columns.find(col.name);
    if (it == opt.columns.end() || it->second.encoder == "auto") free_cols.push_back(col.name);
  }
  std::vector<FlowKind> flows = opt.choose_flows;
  if (numeric < 2) flows.clear();  // a coupling layer needs two dimensions to split
  bool encoders = opt.choose_encoders && !free_cols.empty();
  if (flows.size() < 2 && !encoders) return out;
  // (If the first brief fit shows the encoders make no difference, only the flows remain.)
  if (flows.empty()) flows.push_back(opt.flow.kind);
  // Sharded data or several ranks: not offered (each brief fit would be a collective run).
  if (opt.train.comm && opt.train.comm->size() > 1) return out;
  std::vector<int> tr, va;
  validation_split(int(data.rows()), opt.train, tr, va);
  if (va.empty()) return out;
  const TrainOptions full = resolve_train_options(opt.train, int(tr.size()));

  // The first flow's candidates first: when the default rule already standardizes every free
  // column, the standardized candidates are the same models and are dropped.
  std::vector<Candidate> cands;
  for (int s = 0; s < (encoders ? 2 : 1); ++s)
    for (FlowKind k : flows) cands.push_back({k, s == 1});

  auto options_of = [&](const Candidate& c) {
    echoflow::FitOptions o = opt;
    o.choose_flows.clear();
    o.choose_encoders = false;
    if (o.flow.kind != c.flow || !o.flow.mix.empty()) {
      o.flow.kind = c.flow;
      o.flow.mix.clear();
      o.flow.permutation = default_permutation(c.flow);
    }
    if (c.standardize)
      for (const auto& name : free_cols) o.columns[name].encoder = "standardize";
    return o;
  };

  double best = std::numeric_limits<double>::infinity();
  size_t win = 0;
  std::vector<double> nll(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    echoflow::FitOptions o = options_of(cands[i]);
    o.train.epochs = std::max(2, int(std::ceil(kChoiceShare * full.epochs)));
    o.train.patience = 0;  // the brief run is short already; its best epoch is kept
    o.train.lr_drops = 0;
    o.on_epoch = nullptr;
    o.on_schema = nullptr;
    const echoflow::Model m = echoflow::Model::fit(data, o);
    nll[i] = m.training().best_val_nll;
    if (i == 0 && encoders) {
      bool any_quantile = false;
      for (const auto& c : m.schema().at("columns")) {
        const std::string enc = c.value("encoder", "");
        for (const auto& name : free_cols)
          any_quantile |= c.value("name", "") == name && enc.find("quantile") != std::string::npos;
      }
      if (!any_quantile) {  // nothing to choose between for the encoders
        cands.resize(flows.size());
        nll.resize(cands.size());
        encoders = false;
      }
    }
    if (std::isfinite(nll[i]) && nll[i] < best) {
      best = nll[i];
      win = i;
    }
  }
  if (cands.size() < 2) return out;  // the encoders made no difference and the flow is pinned
  out.made = true;
  out.options = options_of(cands[win]);
  char b[64];
  std::snprintf(b, sizeof b, " (val NLL %.4f", nll[win]);
  out.summary = "chose " + name_of(cands[win], encoders) + b;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (i == win) continue;
    std::snprintf(b, sizeof b, " %.4f", nll[i]);
    out.summary += std::string(i == (win == 0 ? 1 : 0) ? " vs " : ", ") + name_of(cands[i], encoders) + b;
  }
  std::snprintf(b, sizeof b, "; brief fits of %d epochs)", std::max(2, int(std::ceil(kChoiceShare * full.epochs))));
  out.summary += b;
  return out;
}

}  // namespace ef
