// The categorical model of block R, chosen after training by validation likelihood
// (model.categorical_model): the trained CategoricalMade, or a CategoricalTable
// (engine/categorical_table.hpp) on the Bayesian network ef::learn_dag finds in the training
// rows' codes, its tables counted from the training rows with the Dirichlet prior that scores the
// validation rows best. The flow conditions on block R's codes, not on the categorical model, so
// swapping the categorical model leaves it as trained.
//
// "auto" offers the table model to categorical-only tables (no flow dimensions). Only where the
// table model is exact: no conditional columns (block R is the only part; its
// categorical model has no context), one process (not data-parallel), and a device that runs it
// (the CPU; "auto" then scores and samples on the CPU). Elsewhere "auto" keeps the MADE and says
// why; "table" is an error.
#pragma once
#include <string>
#include <vector>

#include "model_impl.hpp"

namespace ef {

// The priors the choice tries (engine/categorical_table.hpp): additive 0.1; BDeu 5; marginal
// back-off 1 (bench/results/QUALITY_DEFAULTS.md, "A count-table model" and the 2026-11-30 merge).
const std::vector<CptPrior>& cpt_prior_candidates();

// Whether "auto" offers the count tables to a model of this layout: block R only (no conditional
// columns) and no flow dimensions. Model::fit also pays for the tabu graph only then.
inline bool tables_offered(const TabularSpec& s) { return s.c_parts == 0 && s.parts.size() == 1 && s.dims() == 0; }

// The one-standard-error rule on the per-row log-likelihoods of the same validation rows under
// the table model and the MADE: diff = mean(table - made), se = its standard error; keep_table
// unless diff < -se (n = 0: diff NaN, not kept).
struct TableVsMade {
  double diff, se;
  bool keep_table;
};
TableVsMade one_se_rule(const std::vector<double>& table, const std::vector<double>& made);

// how: "auto" (the table model unless the MADE's validation likelihood is better by more than one
// standard error of the per-row difference), "table" or "made" (no-op). A chosen table model is
// refitted on every row, training and validation: graph, prior (by leave-one-out likelihood) and
// counts.
// is_train: the validation split Model::fit trained with. Sets I.spec, I.params and I.be when
// the table model is chosen, and I.train.categorical_model to what was chosen and why.
void choose_categorical_model(echoflow::Model::Impl& I, const echoflow::Table& data, const std::vector<char>& is_train,
                              const std::string& how, bool one_process);

}  // namespace ef
