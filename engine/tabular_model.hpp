// TabularModel: the density of an encoded table row (docs/MATH.md).
//
// A row is (codes, u): G categorical codes (categorical columns, and the state of numeric
// columns: value / missing / point-mass atoms) and D continuous encodings. The model is a chain
// of parts; part p holds some categorical groups and some continuous dims and is conditioned on
// the features of all earlier parts:
//   log p(row) = sum_p [ log p_cat_p(codes_p | F_<p) + log p_flow_p(u_p | F_<p, onehot(codes_p)) ]
// where F_<p = [onehot(codes_q) | u_q for q < p]. p_cat is a CategoricalMade (exact mass; or a
// CategoricalTable where PartSpec::table(), fitted by counting), p_flow
// a conditional flow (MAF or RealNVP). Block C (the declared conditional columns) is one part
// per column, in declared order; block R (all other columns) is the last part. With no
// conditional columns the model is p(cat) p(u | cat).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "categorical_made.hpp"
#include "categorical_table.hpp"
#include "flow.hpp"

namespace ef {

struct PartSpec {
  std::vector<int> levels;  // categorical groups of this part (levels per group)
  int dims = 0;             // continuous dims of this part
  // When set (one parent set per group, indices within the part, ascending, and a topological
  // order of them), the part's categorical model is a CategoricalTable on this graph instead of
  // a CategoricalMade. It ignores the earlier parts' features, so the host sets it only on a
  // part without any (block R with no conditional columns).
  std::vector<std::vector<int>> cpt_parents = {};  // "= {}": brace-initialized specs need not list them
  std::vector<int> cpt_order = {};
  bool table() const { return !cpt_parents.empty(); }
};

struct TabularSpec {
  FlowSpec flow;              // shared hyper-parameters; dim/context are set per part
  std::vector<PartSpec> parts;
  int c_parts = 0;            // parts [0, c_parts) are block C
  int groups() const;
  int dims() const;
  bool has_tables() const;  // a part with a CategoricalTable (CPU backend only)
};

template <class T>
struct TabularWorkspace {
  std::vector<T> F;            // (B, feature width) features of all parts
  std::vector<T> ctx;          // scratch: a prefix of F, contiguous
  std::vector<int> codes_p;    // scratch (B, G_p)
  std::vector<T> u_p;          // scratch (B, D_p)
  std::vector<CatCache<T>> cat;
  std::vector<FlowWorkspace<T>> flow;
  // Per part, the contexts of its categorical model and flow (prefixes of F), kept for backward:
  // the conditioners read them in place (MaskedMLP::forward_ctx), one copy for all the layers.
  std::vector<std::vector<T>> cat_ctx, flow_ctx;
};

// What --given fixes: whole conditional columns = whole block-C parts, one value per part.
template <class T>
struct Given {
  std::vector<char> fixed;       // (c_parts) 1 = this part is given
  std::vector<int> codes;        // (G) codes of the given parts (others ignored)
  std::vector<T> u;              // (D) encodings of the given parts
  std::vector<char> flow_counts; // (c_parts) 0 = the given value is a fill (missing/atom): its
                                 // flow term is not part of the evidence
};

struct SampleInfo {
  std::string method = "ancestral";  // ancestral | enumeration | importance
  double ess = 0;                    // effective sample size (importance resampling)
  size_t proposals = 0;
};

template <class T>
class TabularModel {
 public:
  explicit TabularModel(const TabularSpec& spec);
  const TabularSpec& spec() const { return spec_; }
  const ParamLayout& layout() const { return layout_; }
  size_t num_params() const { return layout_.total(); }
  double flops_per_row() const;
  int groups() const { return G_; }
  int dims() const { return D_; }
  // Per-row width of the features (one-hot codes and encoded values of every part): the buffers
  // of a pass over B rows hold B x feature_width() values each.
  int feature_width() const { return Fw_; }
  const Flow<T>* flow(int p) const { return flows_[p].get(); }
  // Part p's categorical model: a CategoricalMade (cat) or a CategoricalTable (table), or
  // neither when the part has no categorical groups.
  const CategoricalMade<T>* cat(int p) const { return cats_[p].get(); }
  const CategoricalTable<T>* table(int p) const { return tabs_[p].get(); }
  bool has_tables() const;

  void init(T* P) const;
  void init_from_data(T* P, const int* codes, const T* u, int N, TabularWorkspace<T>& ws) const;
  // logp (B) of rows (codes (B, G), u (B, D)); saves what backward needs.
  void log_prob(const T* P, const int* codes, const T* u, int B, T* logp,
                TabularWorkspace<T>& ws) const;
  // The terms of log p separately: terms (B, modules()), column 2p the categorical term of part
  // p and column 2p+1 its flow term (0 where the part has none). Each term depends only on the
  // parameters of its module (module_params), so early stopping can keep each module's best.
  int modules() const { return 2 * int(spec_.parts.size()); }
  void log_prob_terms(const T* P, const int* codes, const T* u, int B, T* terms,
                      TabularWorkspace<T>& ws) const;
  // The parameter ranges [offset, offset + size) of module m (see log_prob_terms).
  std::vector<std::pair<size_t, size_t>> module_params(int m) const;
  // After log_prob: grads += d/dP sum_b dlogp_b log p_b.
  void backward(const T* P, const T* dlogp, int B, T* grads, TabularWorkspace<T>& ws) const;
  // n rows drawn from p(row | given) (given may be null): codes (n, G), u (n, D). Exact
  // (ancestral, or enumeration of earlier categorical parts) where possible, else importance
  // resampling with exact weights; info says which, with the effective sample size.
  void sample(const T* P, int n, uint64_t seed, uint64_t row_offset, const Given<T>* given,
              int* codes, T* u, TabularWorkspace<T>& ws, SampleInfo* info) const;

 private:
  void fill_features(const int* codes, const T* u, int B, TabularWorkspace<T>& ws) const;
  void part_codes(int p, int B, const int* codes, std::vector<int>& out) const;  // part p's codes (B, G_p)
  void prefix(const TabularWorkspace<T>& ws, int B, int width, std::vector<T>& out) const;
  // Part p for rows whose earlier features are in ws.F: draw (or keep when keep=true) its codes
  // and u in codes/u (B, G)/(B, D), and write its features.
  void draw_part(const T* P, int p, int B, uint64_t seed, uint64_t row_offset, int* codes, T* u,
                 TabularWorkspace<T>& ws) const;
  // lp[b] += log p(part p of row b | earlier parts); skip_flow rows count only the categorical term.
  void part_log_prob(const T* P, int p, int B, const int* codes, const T* u, const char* skip_flow,
                     T* lp, TabularWorkspace<T>& ws) const;
  void write_part_features(int p, int B, const int* codes, const T* u, TabularWorkspace<T>& ws) const;

  TabularSpec spec_;
  ParamLayout layout_;
  int G_ = 0, D_ = 0, Fw_ = 0;
  std::vector<int> go_, dof_, fo_, W_;  // per part: group offset, dim offset, feature offset, one-hot width
  std::vector<std::unique_ptr<CategoricalMade<T>>> cats_;
  std::vector<std::unique_ptr<CategoricalTable<T>>> tabs_;
  std::vector<std::unique_ptr<Flow<T>>> flows_;
};

}  // namespace ef
