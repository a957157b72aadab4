// echoflow::Model: fit, score and sample on top of the column encoders and a Backend.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>

#include <omp.h>

#include "blas.hpp"
#include "categorical_choice.hpp"
#include "column_order.hpp"
#include "communicator.hpp"
#include "fit_over_ranks.hpp"
#include "flow_size.hpp"
#include "flow_math.hpp"
#include "model_choice.hpp"
#include "model_impl.hpp"
#include "schema.hpp"
#include "structure_search.hpp"
#include "text_cells.hpp"

namespace echoflow {
namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}
// The labels for an error message: all of them up to 20, else the first 20 and a count.
std::string label_list(const std::vector<std::string>& labels) {
  const size_t show = std::min<size_t>(labels.size(), 20);
  std::string s;
  for (size_t i = 0; i < show; ++i) s += (i ? ", \"" : "\"") + labels[i] + "\"";
  if (labels.size() > show) s += ", ... (" + std::to_string(labels.size() - show) + " more)";
  return s;
}

// The model column a mistyped name most likely meant: equal ignoring case, else within edit
// distance 2 (and less than half the name); "" when none is close.
std::string closest_name(const std::string& name, const std::vector<ef::ColumnEncoder>& enc) {
  auto lower = [](std::string s) {
    for (char& ch : s) ch = char(std::tolower((unsigned char)ch));
    return s;
  };
  const std::string a = lower(name);
  std::string best;
  size_t best_d = std::min<size_t>(3, (a.size() + 1) / 2);
  for (auto& e : enc) {
    const std::string b = lower(e.name);
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    if (prev[b.size()] < best_d) best_d = prev[b.size()], best = e.name;
  }
  return best;
}
}  // namespace

ef::Backend& Model::Impl::backend() const {
  if (!be) {
    be = ef::make_backend(device, spec, local_rank);
    be->set_params(params);
  }
  return *be;
}

namespace {
constexpr size_t kComputeChunkRows = 512;
static_assert(kComputeChunkRows % size_t(ef::kGemmTileRows) == 0, "chunks hold whole GEMM row tiles");
}  // namespace

int Model::Impl::chunk_lanes(size_t chunks) const {
  ef::Backend& b = backend();
  if (b.name() != "cpu" || chunks < 2) return 1;
  const int n = int(std::min<size_t>(chunks, size_t(std::max(1, ef::get_num_threads()))));
  while (int(lanes.size()) + 1 < n) {
    lanes.push_back(ef::make_backend("cpu", spec));
    lanes.back()->set_params(params);
  }
  return n;
}

void Model::Impl::build_layout() {
  const int nc = int(enc.size());
  col_part.assign(nc, -1);
  col_group.assign(nc, -1);
  col_dim.assign(nc, -1);
  spec.parts.clear();
  int g = 0, d = 0;
  auto add_col = [&](int c, ef::PartSpec& ps, int part) {
    col_part[c] = part;
    if (enc[c].group_levels() > 0) {
      ps.levels.push_back(enc[c].group_levels());
      col_group[c] = g++;
    }
    if (enc[c].dims() > 0) {
      ps.dims += 1;
      col_dim[c] = d++;
    }
  };
  for (auto& name : conditional)
    for (int c = 0; c < nc; ++c)
      if (enc[c].name == name) {
        ef::PartSpec ps;
        add_col(c, ps, int(spec.parts.size()));
        spec.parts.push_back(ps);
      }
  spec.c_parts = int(spec.parts.size());
  // Block R: its categorical groups in cat_order (host/column_order.hpp) when one is set, its
  // continuous dims in table order.
  ef::PartSpec rest;
  const int rest_part = int(spec.parts.size());
  std::vector<int> rest_cols, group_cols;
  for (int c = 0; c < nc; ++c)
    if (col_part[c] < 0) {
      rest_cols.push_back(c);
      if (enc[c].group_levels() > 0) group_cols.push_back(c);
    }
  if (!cat_order.empty()) {
    std::vector<int> a = cat_order, b = group_cols;
    std::sort(a.begin(), a.end());
    EF_CHECK(a == b, "categorical_order does not list the model's unconditioned categorical columns");
    group_cols = cat_order;
  }
  for (int c : group_cols) {
    rest.levels.push_back(enc[c].group_levels());
    col_group[c] = g++;
  }
  for (int c : rest_cols) {
    col_part[c] = rest_part;
    if (enc[c].dims() > 0) {
      rest.dims += 1;
      col_dim[c] = d++;
    }
  }
  if (!rest.levels.empty() || rest.dims > 0) spec.parts.push_back(rest);
  // Groups and dims were numbered in part order: conditional columns first, then the rest,
  // which is exactly the TabularModel's layout.
}

void Model::Impl::encode(const Table& t, const std::vector<int>& src, const int* idx, int B,
                         uint64_t stream, int pass, int S, uint64_t row0, std::vector<int>& codes,
                         std::vector<float>& u, std::vector<double>& logj,
                         std::vector<char>& bad) const {
  const int G = spec.groups(), D = spec.dims();
  codes.assign(size_t(B) * G, 0);
  u.assign(size_t(B) * D, 0.f);
  logj.assign(B, 0.0);
  bad.assign(B, 0);
  std::vector<int> rows;  // per numeric column: the rows holding a value, and the values
  std::vector<double> xs, vals, ljs, cells;
  for (size_t c = 0; c < enc.size(); ++c) {
    const ef::ColumnEncoder& e = enc[c];
    const Column& col = t.columns[src[c]];
    const int g = col_group[c], d = col_dim[c];
    rows.clear();
    xs.clear();
    // The batch's cells of a numeric column gathered first, in a loop of loads alone: training
    // rows are shuffled, so each is a cache miss in a table larger than the cache, and a tight
    // loop keeps many of them in flight (read one by one below, they were ~10% of a D=64
    // training's time, bench/results/e2e_startup_2026-11-30.md).
    const bool numeric = !e.is_categorical() && !col.values.empty();
    if (numeric) {
      cells.resize(size_t(B));
      const double* v = col.values.data();
      for (int r = 0; r < B; ++r) cells[size_t(r)] = v[idx[r]];
    }
    for (int r = 0; r < B; ++r) {
      const size_t row = size_t(idx[r]);
      // Noise for this cell: fresh per batch in training, fixed per scoring pass.
      // (Training: row0 is the slice's position in its batch, host/trainer.hpp BatchSliceFn.)
      const uint64_t nidx = pass < 0 ? row0 + uint64_t(r) : row0 + row;
      const uint64_t nseed = pass < 0 ? stream : 0x5eedULL + uint64_t(pass);
      auto fill = [&] {
        const double f = ef::math::rand_normal(nseed, 2 * c + 1, nidx);
        u[size_t(r) * D + d] = float(f);
        logj[r] -= ef::math::log_normal(f);  // divide the fill's density out of the score
      };
      if (col.is_missing(row)) {
        if (!e.has_missing) {
          bad[r] = 1;
          continue;
        }
        codes[size_t(r) * G + g] = e.missing_code();
        if (d >= 0) fill();
        continue;
      }
      if (e.is_categorical()) {
        auto it = e.index.find(col.labels[row]);
        if (it == e.index.end()) {
          bad[r] = 1;  // unseen label: zero probability
          continue;
        }
        codes[size_t(r) * G + g] = it->second;
        continue;
      }
      double x = numeric ? cells[size_t(r)] : col.values[row];
      const int state = e.state_of(x);
      if (g >= 0) codes[size_t(r) * G + g] = state;
      if (!e.is_value_state(state)) {
        fill();
        continue;
      }
      if (e.type == ColumnType::Integer) {
        const double v = pass < 0 ? ef::math::rand_uniform(nseed, 2 * c, nidx)
                                  : (pass + ef::math::rand_uniform(0x7a11ULL, c, row0 + row)) / S;
        x += v;
      }
      rows.push_back(r);  // a value: encoded with the column's other values below
      xs.push_back(x);
    }
    const size_t n = rows.size();
    if (n == 0) continue;
    vals.resize(n);
    ljs.assign(n, 0.0);
    e.encode_many(xs.data(), n, vals.data(), ljs.data());
    for (size_t i = 0; i < n; ++i) {
      const int r = rows[i];
      if (!std::isfinite(ljs[i])) {
        bad[r] = 1;  // outside the declared bounds
        continue;
      }
      u[size_t(r) * D + d] = float(vals[i]);
      logj[r] += ljs[i];
    }
  }
}

namespace {
// The block-R columns with a categorical group in the order `how` ("dependence":
// ef::dependence_order, "dag": ef::learn_dag's topological order) of their codes on (up to
// that order's row cap, evenly spaced) training rows. Codes are the same in any layout and
// need no noise: a numeric column's group is its value/missing/atom state.
// Sharded (comm of several ranks): every rank's share of the rows, in proportion to its training
// rows, gathered in rank order. "dag" also gives the graph: parent_cols[c] = the parents of
// column c (columns), for the categorical model choice (host/categorical_choice.hpp).
std::vector<int> learned_order_of(const Model::Impl& I, const Table& data, const std::vector<char>& is_train,
                                  ef::Communicator& comm, const std::string& how,
                                  std::vector<std::vector<int>>& parent_cols) {
  const ef::PartSpec* rest = I.spec.parts.size() > size_t(I.spec.c_parts) ? &I.spec.parts.back() : nullptr;
  if (!rest || rest->levels.size() < 3) return {};
  std::vector<int> rows;
  for (size_t r = 0; r < is_train.size(); ++r)
    if (is_train[r]) rows.push_back(int(r));
  size_t keep = size_t(how == "dag" ? ef::kDagOrderMaxRows : ef::kDependenceOrderMaxRows);
  if (comm.size() > 1) {
    const std::vector<int> n = ef::gather_rows(comm, {int(rows.size())});
    double before = 0, total = 0;
    for (int q = 0; q < comm.size(); ++q) (q < comm.rank() ? before : total) += n[size_t(q)];
    total += before;
    const double S = std::min(total, double(keep));
    keep = size_t(std::floor(S * (before + double(rows.size())) / total)) - size_t(std::floor(S * before / total));
  }
  if (rows.size() > keep) {
    std::vector<int> sub(keep);
    for (size_t i = 0; i < sub.size(); ++i) sub[i] = rows[i * rows.size() / sub.size()];
    rows.swap(sub);
  }
  std::vector<int> srcs(I.enc.size());
  for (size_t c = 0; c < srcs.size(); ++c) srcs[c] = int(c);
  std::vector<int> codes;
  std::vector<float> u;
  std::vector<double> logj;
  std::vector<char> bad;
  I.encode(data, srcs, rows.data(), int(rows.size()), 0, -1, 1, 0, codes, u, logj, bad);
  const int G = I.spec.groups(), R = int(rest->levels.size()), g0 = G - R;
  std::vector<int> sub_codes(rows.size() * size_t(R));
  for (size_t r = 0; r < rows.size(); ++r)
    for (int g = 0; g < R; ++g) sub_codes[r * size_t(R) + size_t(g)] = codes[r * size_t(G) + size_t(g0 + g)];
  if (comm.size() > 1) sub_codes = ef::gather_rows(comm, sub_codes);
  const size_t n_rows = sub_codes.size() / size_t(R);
  std::vector<int> group_col(size_t(R), -1);  // block-R group -> column (table order layout)
  for (size_t c = 0; c < I.enc.size(); ++c)
    if (I.col_part[c] == I.spec.c_parts && I.col_group[c] >= g0) group_col[size_t(I.col_group[c] - g0)] = int(c);
  std::vector<int> out, order;
  parent_cols.assign(I.enc.size(), {});
  if (how == "dag") {
    // The order comes from the greedy search alone (no tabu phase): the tabu phase's graphs are
    // closer to the true networks, yet the categorical MADE fitted in their order scored lower on
    // random12:4, alarm and random20:5 (bench/results/QUALITY_DEFAULTS.md, "Structure search").
    // The count-table model (host/categorical_choice.hpp) gets the tabu graph: its tables are
    // the graph, and there the closer graph wins. It is only offered to a block R without
    // numeric dims and without conditional columns, so only those pay for the second search.
    ef::DagSearchOptions greedy;
    greedy.tabu_moves = 0;
    const ef::LearnedDag dag = ef::learn_dag(sub_codes, int(n_rows), rest->levels, greedy);
    order = dag.order;
    const std::vector<std::vector<int>> parents =
        ef::tables_offered(I.spec) ? ef::learn_dag(sub_codes, int(n_rows), rest->levels).parents : dag.parents;
    for (int g = 0; g < R; ++g)
      for (int p : parents[size_t(g)]) parent_cols[size_t(group_col[size_t(g)])].push_back(group_col[size_t(p)]);
  } else {
    order = ef::dependence_order(sub_codes, int(n_rows), rest->levels);
  }
  for (int g : order) out.push_back(group_col[size_t(g)]);
  return out;
}
}  // namespace

Model Model::fit(const Table& data, const FitOptions& opt) {
  if (opt.choose_flows.size() > 1 || opt.choose_encoders) {
    const ef::ModelChoice c = ef::choose_model(data, opt);
    echoflow::FitOptions o = c.made ? c.options : opt;
    o.choose_flows.clear();
    o.choose_encoders = false;
    Model m = fit(data, o);
    m.impl_->train.choice = c.summary;
    return m;
  }
  const std::string src = data.source.empty() ? "table" : data.source;
  // Sharded data (docs/SCALE.md): `data` is this rank's rows; the encoders are fitted on the rows
  // of every rank (host/fit_over_ranks.hpp). Checks of this rank's rows are agreed on first, so
  // a bad value on one rank ends every rank instead of leaving them in a collective.
  const bool sharded = opt.train.sharded && opt.train.comm && opt.train.comm->size() > 1;
  ef::Communicator& comm = sharded ? *opt.train.comm : ef::single_process();
  const size_t N = data.rows();
  auto impl = std::make_shared<Impl>();
  std::vector<ef::ColumnStats> stats;  // per column, for the schema
  std::vector<char> is_train(N, 0);
  ef::run_agreed(comm, [&] {
    EF_CHECK(!data.columns.empty(), src, ": no columns to model");
    EF_CHECK(N >= 2, src, ": at least 2 rows are needed to train (got ", N, ")");
    EF_CHECK(N < size_t(1) << 31, src, ": too many rows");
    for (auto& kv : opt.columns)
      EF_CHECK(data.find(kv.first) >= 0, "data.columns: \"", kv.first, "\" is not a column of ", src);
    std::vector<int> tr, va;
    ef::validation_split(int(N), opt.train, tr, va);
    for (int r : tr) is_train[size_t(r)] = 1;
  });
  for (auto& col : data.columns) {
    ef::ColumnStats st;
    st.rows = N;
    std::vector<double> present, present_all;
    size_t n_missing = 0;
    ColumnOptions copt;
    ef::run_agreed(comm, [&] {
    EF_CHECK(col.size() == N, src, ": column \"", col.name, "\" has ", col.size(), " values, expected ", N);
    EF_CHECK(col.missing.empty() || col.missing.size() == N, src, ": column \"", col.name, "\": bad missing flags");
    ef::check_text_cells(col, src);
    auto it = opt.columns.find(col.name);
    copt = it == opt.columns.end() ? ColumnOptions() : it->second;
    if (!copt.has_support) copt.support = opt.support;
    copt.support_margin = opt.support_margin;
    copt.split_modes = opt.split_modes;
    if (col.type == ColumnType::Categorical) {
      EF_CHECK(!copt.has_min && !copt.has_max && !copt.has_support, "column \"", col.name,
               "\": bounds or support on a categorical column");
      return;
    }
    // The encoder (its quantile knots, atoms, scale) is fitted on the training rows only: a
    // quantile map through the validation rows' own values would score them too well, and
    // early stopping would then pick an epoch by rows the model has in effect memorized.
    // Whether the column has missing values at all is a property of the whole table.
    for (size_t r = 0; r < N; ++r) {
      if (col.is_missing(r)) {
        ++n_missing;
        continue;
      }
      const double v = col.values[r];
      EF_CHECK(std::isfinite(v), src, ": row ", r + 1, ", column \"", col.name, "\": not a finite number");
      if (copt.has_min && v < copt.min)
        EF_THROW(src, ": row ", r + 1, ", column \"", col.name, "\": ", v, " is below the declared min ", copt.min);
      if (copt.has_max && v > copt.max)
        EF_THROW(src, ": row ", r + 1, ", column \"", col.name, "\": ", v, " is above the declared max ", copt.max);
      if (is_train[r]) present.push_back(v);
      present_all.push_back(v);
    }
    });
    if (col.type == ColumnType::Categorical) {
      if (sharded) {
        impl->enc.push_back(ef::fit_categorical_over_ranks(comm, col.name, col.labels, col.missing, col.missing_token, &st));
      } else {
        impl->enc.push_back(ef::ColumnEncoder::fit_categorical(col.name, col.labels, col.missing, col.missing_token));
        for (size_t r = 0; r < N; ++r) st.missing += col.is_missing(r);
      }
      stats.push_back(st);
      continue;
    }
    if (sharded) {
      impl->enc.push_back(ef::fit_numeric_over_ranks(comm, col.name, col.type, present, present_all, n_missing, N,
                                                     col.missing_token, copt, &st));
      stats.push_back(st);
      continue;
    }
    // A column whose training rows are all missing still needs a value range. The observed
    // support spans every row, so validation rows score finitely.
    const bool use_all = present.empty();
    impl->enc.push_back(ef::ColumnEncoder::fit_numeric(
        col.name, col.type, use_all ? present_all : present, n_missing, col.missing_token, copt,
        &present_all));
    const ef::ColumnEncoder& e = impl->enc.back();
    st.missing = n_missing;
    st.atom_share.assign(e.atoms.size(), 0.0);
    if (!present_all.empty()) {
      st.min = *std::min_element(present_all.begin(), present_all.end());
      st.max = *std::max_element(present_all.begin(), present_all.end());
    }
    for (double v : present_all)
      if (const int k = e.state_of(v); !e.is_value_state(k)) st.atom_share[e.atom_of(k)] += 1.0 / double(N);
    stats.push_back(st);
  }
  for (auto& c : opt.conditional) {
    EF_CHECK(data.find(c) >= 0, "conditional column \"", c, "\" is not a column of ", src);
    for (auto& prev : impl->conditional) EF_CHECK(prev != c, "conditional column \"", c, "\" listed twice");
    impl->conditional.push_back(c);
  }
  impl->spec.flow = opt.flow;
  impl->missing_tokens = opt.missing_tokens;
  impl->build_layout();
  if (opt.categorical_order == "dependence" || opt.categorical_order == "dag") {
    std::vector<std::vector<int>> parent_cols;
    impl->cat_order = learned_order_of(*impl, data, is_train, comm, opt.categorical_order, parent_cols);
    impl->build_layout();
    // The graph in block R's model order, for the categorical model choice.
    if (opt.categorical_order == "dag" && impl->spec.c_parts == 0 && impl->spec.parts.size() == 1 &&
        !impl->cat_order.empty()) {
      impl->dag_parents.assign(impl->spec.parts[0].levels.size(), {});
      for (size_t c = 0; c < parent_cols.size(); ++c)
        for (int p : parent_cols[c]) impl->dag_parents[size_t(impl->col_group[c])].push_back(impl->col_group[size_t(p)]);
      for (auto& pa : impl->dag_parents) std::sort(pa.begin(), pa.end());
    }
  } else {
    EF_CHECK(opt.categorical_order == "table",
             "categorical_order must be \"table\", \"dag\" or \"dependence\" (got \"", opt.categorical_order, "\")");
  }
  impl->device = opt.device;
  impl->config = opt.config;
  if (opt.threads > 0) ef::set_num_threads(opt.threads);
  {
    nlohmann::json cols = nlohmann::json::array();
    for (size_t c = 0; c < impl->enc.size(); ++c) {
      bool cond = false;
      for (auto& name : impl->conditional) cond |= name == impl->enc[c].name;
      cols.push_back(ef::column_schema(impl->enc[c], stats[c], cond));
    }
    impl->schema = {{"columns", cols}, {"rows", stats.empty() ? N : stats[0].rows},  // sharded: all ranks' rows
                    {"device", ef::device_schema(opt.device)}};
    if (opt.on_schema) opt.on_schema(impl->schema);
    // "auto" sizes, from the dimensions the layout gives the flow and every rank's rows.
    bool modes = false;
    for (const auto& e : impl->enc) modes |= !e.mode_z.empty();
    ef::resolve_flow_size(impl->spec, stats.empty() ? N : stats[0].rows, modes);
  }
  // Sharded: every rank must now hold byte-identical encoders, layout and schema (it would be a
  // bug if not: every decision above is made from the same gathered data). Checked, not assumed:
  // a rank that differs would train a different model and its gradients would be meaningless.
  if (sharded) {
    const std::string mine = nlohmann::json{{"columns", impl->enc}, {"categorical_order", impl->cat_order},
                                            {"schema", impl->schema}}.dump();
    const std::vector<std::string> all = comm.allgather(mine);
    for (size_t q = 1; q < all.size(); ++q)
      EF_CHECK(all[q] == all[0], "rank ", q, " fitted encoders that differ from rank 0's (", all[q].size(), " vs ",
               all[0].size(), " bytes of JSON): the sharded fit is not deterministic");
  }

  std::vector<int> srcs(impl->enc.size());
  for (size_t c = 0; c < srcs.size(); ++c) srcs[c] = int(c);
  const Impl& I = *impl;
  std::vector<double> logj;
  std::vector<char> bad;
  ef::BatchSliceFn make_slice = [&](const int* rows, int B, uint64_t stream, int first, ef::Batch& out) {
    I.encode(data, srcs, rows, B, stream ^ (opt.train.seed * 0x9e3779b97f4a7c15ULL), -1, 1, uint64_t(first),
             out.codes, out.u, logj, bad);
    out.logj_sum = 0;
    for (int r = 0; r < B; ++r) out.logj_sum += logj[r];
    out.row_logj.assign(logj.begin(), logj.begin() + B);
  };
  ef::BatchFn make_batch = [&](const int* rows, int B, uint64_t stream, ef::Batch& out) {
    make_slice(rows, B, stream, 0, out);
  };
  // Integer dequantization and filled cells draw noise per batch: such rows cannot be encoded
  // once and kept on a device (host/device_trainer.hpp streams them instead).
  bool noisy = false;
  for (auto& e : impl->enc) noisy |= e.type == ColumnType::Integer || (e.dims() > 0 && e.has_fill_states());
  // Data-parallel ranks on GPUs: one device per rank of a node (docs/SCALE.md).
  impl->local_rank = ef::backend_local_rank(opt.train.comm);
  auto be = ef::make_backend(opt.device, impl->spec, impl->local_rank);
  be->init_params();
  impl->train = ef::train(*be, int(N), ef::BatchSource{make_batch, noisy, make_slice}, opt.train, opt.on_epoch);
  impl->params = be->get_params();
  impl->be = std::move(be);
  ef::choose_categorical_model(*impl, data, is_train, opt.categorical_model,
                               !(opt.train.comm && opt.train.comm->size() > 1));
  Model m;
  m.impl_ = impl;
  return m;
}

std::vector<double> Model::score(const Table& t) const { return score(t, 0); }

std::vector<double> Model::score(const Table& t, size_t first_row) const {
  const Impl& I = *impl_;
  const std::string src = t.source.empty() ? "table" : t.source;
  const size_t nc = I.enc.size();
  std::vector<int> srcs(nc);
  for (size_t c = 0; c < nc; ++c) {
    const ef::ColumnEncoder& e = I.enc[c];
    srcs[c] = t.find(e.name);
    EF_CHECK(srcs[c] >= 0, src, ": column \"", e.name, "\" of the model is missing");
    const Column& col = t.columns[srcs[c]];
    if (e.is_categorical() != (col.type == ColumnType::Categorical))
      EF_THROW(src, ": column \"", e.name, "\" is ", ef::to_string(col.type), " here but ",
               ef::to_string(e.type), " in the model");
  }
  const size_t N = t.rows();
  // Integer dequantization and fill noise make a row's score an expectation over noise; it is
  // estimated with S fixed stratified draws (a deterministic estimate of the Jensen bound).
  bool noisy = false;
  for (auto& e : I.enc) noisy |= e.type == ColumnType::Integer || (e.dims() > 0 && e.has_fill_states());
  const int S = noisy ? 8 : 1;
  std::vector<double> out(N, 0.0);
  std::lock_guard<std::mutex> lock(I.mu);
  // Chunks of kComputeChunkRows: a chunk's activations stay in a core's L2 cache (4096-row
  // chunks took 1.2x the CPU time, bench/results/e2e_pipeline_2026-11-29.md). Rows are scored
  // independently (noise by row, GEMM row tiles fixed), so the chunk size does not change them.
  const size_t chunk = kComputeChunkRows, chunks = (N + chunk - 1) / chunk;
  const int lanes = I.chunk_lanes(chunks);
  std::vector<std::exception_ptr> errs(chunks);  // per chunk: an exception must not leave the omp for
#pragma omp parallel num_threads(lanes) if (lanes > 1)
  {
    const int k = lanes > 1 ? omp_get_thread_num() : 0;
    ef::Backend& be = I.lane(k);
    std::vector<int> idx, codes;
    std::vector<float> u, lp;
    std::vector<double> logj;
    std::vector<char> bad;
#pragma omp for schedule(dynamic, 1)
    for (size_t ci = 0; ci < chunks; ++ci) try {
      const size_t r0 = ci * chunk;
      const int b = int(std::min(chunk, N - r0));
      idx.resize(size_t(b));
      for (int r = 0; r < b; ++r) idx[size_t(r)] = int(r0 + size_t(r));
      lp.resize(size_t(b));
      for (int s = 0; s < S; ++s) {
        I.encode(t, srcs, idx.data(), b, 0, s, S, first_row, codes, u, logj, bad);
        be.score(codes.data(), u.data(), b, lp.data());
        for (int r = 0; r < b; ++r)
          out[r0 + size_t(r)] += bad[size_t(r)] ? -std::numeric_limits<double>::infinity()
                                                : (double(lp[size_t(r)]) + logj[size_t(r)]) / S;
      }
    } catch (...) {
      errs[ci] = std::current_exception();  // rethrown below: the first chunk's
    }
  }
  // In chunk order, as one thread would have stopped: a chunk's error, else its first overflow.
  // -inf means "outside the support"; NaN or +inf is an overflow, never a score.
  for (size_t ci = 0; ci < chunks; ++ci) {
    if (errs[ci]) std::rethrow_exception(errs[ci]);
    for (size_t r = ci * chunk; r < std::min(N, (ci + 1) * chunk); ++r)
      if (std::isnan(out[r]) || out[r] == std::numeric_limits<double>::infinity())
        EF_THROW(src, ": row ", first_row + r + 1, ": the score is ", std::isnan(out[r]) ? "NaN" : "+inf",
                 " (the model's computation overflowed on this row; its parameters or the row's values are too large)");
  }
  return out;
}

Table Model::sample(size_t n, const std::map<std::string, std::string>& given, uint64_t seed,
                    ef::SampleInfo* info) const {
  Table t;
  sample_blocks(n, given, seed, n, [&](Table& b) { t = std::move(b); }, info);
  return t;
}

void Model::sample_blocks(size_t n, const std::map<std::string, std::string>& given, uint64_t seed,
                          size_t block_rows, const std::function<void(Table&)>& sink,
                          ef::SampleInfo* info) const {
  EF_CHECK(n >= 1, "the number of rows to sample must be positive");
  sample_range(0, n, given, seed, block_rows, sink, info);
}

void Model::sample_range(size_t first, size_t n, const std::map<std::string, std::string>& given,
                         uint64_t seed, size_t block_rows, const std::function<void(Table&)>& sink,
                         ef::SampleInfo* info) const {
  const Impl& I = *impl_;
  EF_CHECK(first + n < size_t(1) << 31, "too many rows to sample");
  EF_CHECK(first % sample_chunk_rows(!given.empty()) == 0, "sample_range: first row ", first,
           " is not a multiple of ", sample_chunk_rows(!given.empty()));
  const int G = I.spec.groups(), D = I.spec.dims();
  const size_t nc = I.enc.size();
  ef::Given<float> gv;
  const bool conditional = !given.empty();
  if (conditional) {
    gv.fixed.assign(I.spec.c_parts, 0);
    gv.flow_counts.assign(I.spec.c_parts, 1);
    gv.codes.assign(G, -1);
    gv.u.assign(D, 0.f);
  }
  for (auto& kv : given) {
    int c = -1;
    for (size_t k = 0; k < nc; ++k)
      if (I.enc[k].name == kv.first) c = int(k);
    if (c < 0) {
      const std::string near = closest_name(kv.first, I.enc);
      EF_THROW("--given ", kv.first, ": no such column in the model",
               near.empty() ? std::string() : " (did you mean \"" + near + "\"?)");
    }
    if (I.col_part[c] >= I.spec.c_parts)
      EF_THROW("--given ", kv.first, ": the column was not declared \"conditional\" at training time "
               "(conditional columns: ", join(I.conditional), ")");
    const ef::ColumnEncoder& e = I.enc[c];
    const int p = I.col_part[c], g = I.col_group[c], d = I.col_dim[c];
    gv.fixed[p] = 1;
    const std::string& s = kv.second;
    if (e.has_missing && s == e.missing_token) {
      gv.codes[g] = e.missing_code();
      gv.flow_counts[p] = 0;
      continue;
    }
    if (e.is_categorical()) {
      auto it = e.index.find(s);
      if (it == e.index.end())
        EF_THROW("--given ", kv.first, "=", s, ": label not seen in training; known labels (",
                 e.labels.size(), "): ", label_list(e.labels));
      gv.codes[g] = it->second;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(v)) EF_THROW("--given ", kv.first, "=", s, ": not a finite number");
    if (e.type == ColumnType::Integer && v != std::floor(v)) EF_THROW("--given ", kv.first, "=", s, ": the column is integer");
    const int state = e.state_of(v);
    if (g >= 0) gv.codes[g] = state;
    if (!e.is_value_state(state)) {
      gv.flow_counts[p] = 0;
      continue;
    }
    // An integer k is the dequantized cell [k, k+1): condition on its midpoint.
    double lj = 0;
    const double uu = e.encode(e.type == ColumnType::Integer ? v + 0.5 : v, &lj);
    if (!std::isfinite(lj))
      EF_THROW("--given ", kv.first, "=", s, ": outside the column's ",
               e.observed_support ? "support (the observed range widened by data.support_margin)" : "declared bounds");
    gv.u[d] = float(uu);
  }
  // Given numeric values are written exactly as given (no float round trip).
  std::vector<std::pair<int, double>> given_values;
  for (auto& kv : given) {
    int c = 0;
    while (I.enc[size_t(c)].name != kv.first) ++c;
    const ef::ColumnEncoder& e = I.enc[size_t(c)];
    if (!e.is_categorical() && !(e.has_missing && kv.second == e.missing_token))
      given_values.push_back({c, std::strtod(kv.second.c_str(), nullptr)});
  }
  std::lock_guard<std::mutex> lock(I.mu);
  // Chunks keep memory bounded; importance resampling then works per chunk. The draws depend
  // on the chunk (its first row), never on the block: blocks are whole chunks.
  const size_t chunk0 = sample_chunk_rows(conditional);
  const size_t block = std::max<size_t>(1, (std::max<size_t>(block_rows, 1) + chunk0 - 1) / chunk0) * chunk0;
  // Unconditional draws depend on the row only (noise by row, GEMM row tiles fixed): the
  // backend is called on kComputeChunkRows rows at a time, which keeps a call's activations in
  // a core's L2 cache (8192-row calls took 2.3x the CPU time for a MAF, D = 8). Conditional
  // draws resample per chunk of chunk0 rows, so they keep it.
  const size_t chunk = conditional ? chunk0 : kComputeChunkRows;
  const int lanes = I.chunk_lanes(std::min(n, block) / chunk + 1);
  std::vector<ef::SampleInfo> parts;
  std::vector<std::exception_ptr> errs;
  std::vector<size_t> bad_row;  // per chunk: first row with a non-finite value, or SIZE_MAX
  std::vector<std::string> bad_msg;
  ef::SampleInfo agg;
  double ess = 0;
  Table t;
  for (size_t b0 = 0; b0 < n; b0 += block) {
    const size_t nb = std::min(block, n - b0), chunks = (nb + chunk - 1) / chunk;
    t.columns.resize(nc);
    for (size_t c = 0; c < nc; ++c) {  // the columns keep their storage from block to block
      const ef::ColumnEncoder& e = I.enc[c];
      Column& col = t.columns[c];
      col.name = e.name;
      col.type = e.type;
      col.missing_token = e.missing_token;
      if (e.is_categorical()) {
        col.values.clear();
        col.labels.assign(nb, std::string());
      } else {
        col.labels.clear();
        col.values.assign(nb, 0.0);
      }
      if (e.has_missing) col.missing.assign(nb, 0); else col.missing.clear();
    }
    parts.assign(chunks, {});
    errs.assign(chunks, nullptr);  // per chunk: an exception must not leave the omp for
    bad_row.assign(chunks, SIZE_MAX);
    bad_msg.assign(chunks, {});
#pragma omp parallel num_threads(lanes) if (lanes > 1)
    {
      const int k = lanes > 1 ? omp_get_thread_num() : 0;
      ef::Backend& be = I.lane(k);
      std::vector<int> codes;
      std::vector<float> u;
      std::vector<double> decoded;
#pragma omp for schedule(dynamic, 1)
      for (size_t ci = 0; ci < chunks; ++ci) try {
        const size_t r0 = b0 + ci * chunk;
        const int b = int(std::min(chunk, b0 + nb - r0));
        codes.resize(size_t(b) * G);
        u.resize(size_t(b) * D);
        be.sample(b, seed, first + r0, conditional ? &gv : nullptr, codes.data(), u.data(), &parts[ci]);
        for (size_t c = 0; c < nc; ++c) {
          const ef::ColumnEncoder& e = I.enc[c];
          Column& col = t.columns[c];
          const int g = I.col_group[c], d = I.col_dim[c];
          bool given_value = false;  // overwritten with the given number below
          for (auto& gc : given_values) given_value |= gc.first == int(c);
          if (d >= 0) {  // the chunk's column at once (rows holding an atom or missing ignore theirs)
            decoded.resize(size_t(b));
            e.decode_many(u.data() + d, size_t(D), size_t(b), decoded.data(), g >= 0 ? codes.data() + g : nullptr,
                          size_t(G));
          }
          for (int r = 0; r < b; ++r) {
            const size_t row = r0 - b0 + size_t(r);
            const int code = g >= 0 ? codes[size_t(r) * G + g] : 0;
            if (e.has_missing && code == e.missing_code()) {
              col.missing[row] = 1;
            } else if (e.is_categorical()) {
              col.labels[row] = e.labels[size_t(code)];
            } else if (!e.is_value_state(code)) {
              col.values[row] = e.atoms[e.atom_of(code)];
            } else {
              const double x = decoded[size_t(r)];
              // An overflow (huge parameters, an extreme --given value) is an error, never an
              // "inf" or "nan" cell: the first such row of the block is reported below.
              if (!std::isfinite(x) && !given_value && bad_row[ci] == SIZE_MAX) {  // the first in the old column-major order
                bad_row[ci] = first + r0 + size_t(r);
                bad_msg[ci] = ef::detail::cat("sample: row ", first + r0 + size_t(r) + 1, ", column \"", e.name,
                                              "\": the model produced a non-finite value (", x,
                                              "); its parameters or the --given values are outside the range it can represent");
              }
              col.values[row] = x;
            }
          }
        }
      } catch (...) {
        errs[ci] = std::current_exception();  // rethrown below: the first chunk's
      }
    }
    for (size_t ci = 0; ci < chunks; ++ci) {  // in chunk order, as one thread would have stopped
      if (bad_row[ci] != SIZE_MAX) throw ef::Error(bad_msg[ci], __FILE__, __LINE__);
      if (errs[ci]) std::rethrow_exception(errs[ci]);
    }
    for (const ef::SampleInfo& part : parts) {  // in chunk order, as drawn one after the other
      agg.method = part.method;
      agg.proposals += part.proposals;
      ess += part.ess;
    }
    for (auto& gv_c : given_values)
      std::fill(t.columns[size_t(gv_c.first)].values.begin(), t.columns[size_t(gv_c.first)].values.end(), gv_c.second);
    sink(t);
  }
  agg.ess = ess;
  if (info) *info = agg;
}

std::vector<std::vector<float>> Model::layer_trace(size_t n, uint64_t seed,
                                                  std::vector<std::string>* names) const {
  const Impl& I = *impl_;
  EF_CHECK(I.spec.parts.size() == 1 && I.spec.parts[0].levels.empty(),
           "layer_trace needs a model of continuous columns without conditional columns");
  ef::TabularModel<float> tm(I.spec);
  const int D = I.spec.parts[0].dims;
  std::vector<float> z(n * size_t(D));
  for (size_t r = 0; r < n; ++r)
    for (int i = 0; i < D; ++i) z[r * D + i] = float(ef::math::rand_normal(seed, 1, r * D + i));
  std::vector<std::vector<float>> out;
  ef::FlowWorkspace<float> ws;
  const auto* flow = tm.flow(0);
  flow->inverse_trace(I.params.data(), z.data(), nullptr, int(n), out, ws);
  if (names) {
    const size_t L = flow->num_layers();
    names->assign(1, "base N(0, I)");
    for (size_t k = 1; k <= L; ++k)
      names->push_back("undo " + std::to_string(k) + "/" + std::to_string(L) + ": " + flow->layer(L - k).name());
  }
  return out;
}

const ef::TrainResult& Model::training() const { return impl_->train; }
const nlohmann::json& Model::schema() const { return impl_->schema; }
const nlohmann::json& Model::config() const { return impl_->config; }
const std::vector<std::string>& Model::conditional() const { return impl_->conditional; }
std::vector<std::string> Model::column_names() const {
  std::vector<std::string> v;
  for (auto& e : impl_->enc) v.push_back(e.name);
  return v;
}
std::vector<std::string> Model::missing_tokens() const { return impl_->missing_tokens; }

std::map<std::string, ColumnType> Model::column_types() const {
  std::map<std::string, ColumnType> m;
  for (auto& e : impl_->enc) m[e.name] = e.type;
  return m;
}

std::string version_string() {
  const ef::CudaInfo& ci = ef::cuda_info();
  std::string s = std::string("echoflow ") + EF_VERSION + " (CUDA: ";
  if (!ci.compiled) return s + ci.reason + "; " + ef::scale_out_build_info() + ")";
  return s + "module " + ci.module + "; " +
         (ci.devices > 0 ? std::to_string(ci.devices) + " device(s)" : "no usable device: " + ci.reason) + "; " +
         ef::scale_out_build_info() + ")";
}

}  // namespace echoflow
