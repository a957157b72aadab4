#include "tabular_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "error.hpp"
#include "flow_math.hpp"
#include "parallel.hpp"

namespace ef {

int TabularSpec::groups() const {
  int g = 0;
  for (auto& p : parts) g += int(p.levels.size());
  return g;
}
bool TabularSpec::has_tables() const {
  for (auto& p : parts)
    if (p.table()) return true;
  return false;
}
int TabularSpec::dims() const {
  int d = 0;
  for (auto& p : parts) d += p.dims;
  return d;
}

template <class T>
TabularModel<T>::TabularModel(const TabularSpec& spec) : spec_(spec) {
  EF_CHECK(!spec.parts.empty(), "the model needs at least one part");
  EF_CHECK(spec.c_parts >= 0 && spec.c_parts <= int(spec.parts.size()), "bad block-C part count");
  for (size_t p = 0; p < spec.parts.size(); ++p) {
    const PartSpec& ps = spec.parts[p];
    go_.push_back(G_);
    dof_.push_back(D_);
    fo_.push_back(Fw_);
    int w = 0;
    for (int k : ps.levels) w += k;
    W_.push_back(w);
    const uint64_t seed = math::mix64(spec.flow.seed * 31 + p + 1);
    const std::string name = "part" + std::to_string(p);
    cats_.emplace_back();
    tabs_.emplace_back();
    if (ps.table()) {
      // The tables do not read earlier parts' features: only a part without any may have them.
      EF_CHECK(Fw_ == 0, "part ", p, ": a table model cannot follow conditional columns");
      tabs_.back() = std::make_unique<CategoricalTable<T>>(ps.levels, ps.cpt_parents, ps.cpt_order, layout_,
                                                           name + ".cat");
    } else if (!ps.levels.empty()) {
      cats_.back() = std::make_unique<CategoricalMade<T>>(ps.levels, Fw_, spec.flow.hidden, spec.flow.activation,
                                                          spec.flow.degrees, seed, layout_, name + ".cat");
    }
    if (ps.dims > 0) {
      FlowSpec fs = spec.flow;
      fs.dim = ps.dims;
      fs.context = Fw_ + w;
      fs.seed = seed;
      flows_.push_back(std::make_unique<Flow<T>>(fs, layout_, name + ".flow"));
    } else {
      flows_.emplace_back();
    }
    G_ += int(ps.levels.size());
    D_ += ps.dims;
    Fw_ += w + ps.dims;
  }
  EF_CHECK(G_ + D_ > 0, "the model has no columns");
}

template <class T>
bool TabularModel<T>::has_tables() const {
  for (auto& t : tabs_)
    if (t) return true;
  return false;
}

template <class T>
double TabularModel<T>::flops_per_row() const {
  double f = 0;
  for (size_t p = 0; p < cats_.size(); ++p) {
    if (cats_[p]) f += cats_[p]->flops_per_row();
    if (tabs_[p]) f += tabs_[p]->flops_per_row();
    if (flows_[p]) f += flows_[p]->flops_per_row();
  }
  return f;
}

template <class T>
void TabularModel<T>::init(T* P) const {
  std::fill(P, P + num_params(), T(0));
  for (size_t p = 0; p < cats_.size(); ++p) {
    if (cats_[p]) cats_[p]->init(P);
    if (tabs_[p]) tabs_[p]->init(P);
    if (flows_[p]) flows_[p]->init(P);
  }
}

template <class T>
void TabularModel<T>::write_part_features(int p, int B, const int* codes, const T* u,
                                          TabularWorkspace<T>& ws) const {
  ws.F.resize(size_t(B) * Fw_);
  const PartSpec& ps = spec_.parts[p];
  const int Gp = int(ps.levels.size());
  for (int r = 0; r < B; ++r) {
    T* f = &ws.F[size_t(r) * Fw_ + fo_[p]];
    std::fill(f, f + W_[p], T(0));
    int off = 0;
    for (int g = 0; g < Gp; ++g) {
      const int k = codes[size_t(r) * G_ + go_[p] + g];
      if (k >= 0) f[off + k] = T(1);
      off += ps.levels[g];
    }
    for (int i = 0; i < ps.dims; ++i) f[W_[p] + i] = u[size_t(r) * D_ + dof_[p] + i];
  }
}

template <class T>
void TabularModel<T>::part_codes(int p, int B, const int* codes, std::vector<int>& out) const {
  const int Gp = int(spec_.parts[p].levels.size());
  out.resize(size_t(B) * Gp);
  for (int r = 0; r < B; ++r)
    for (int g = 0; g < Gp; ++g) out[size_t(r) * Gp + g] = codes[size_t(r) * G_ + go_[p] + g];
}

template <class T>
void TabularModel<T>::fill_features(const int* codes, const T* u, int B,
                                    TabularWorkspace<T>& ws) const {
  for (size_t p = 0; p < spec_.parts.size(); ++p) write_part_features(int(p), B, codes, u, ws);
}

template <class T>
void TabularModel<T>::prefix(const TabularWorkspace<T>& ws, int B, int width,
                             std::vector<T>& out) const {
  out.resize(size_t(B) * width);
  if (width == 0) return;  // a part without context: nothing to copy (and &v[0] of an empty vector is UB)
  const T* F = ws.F.data();
  for (int r = 0; r < B; ++r)
    std::copy(F + size_t(r) * Fw_, F + size_t(r) * Fw_ + width, out.data() + size_t(r) * width);
}

template <class T>
void TabularModel<T>::part_log_prob(const T* P, int p, int B, const int* codes, const T* u,
                                    const char* skip_flow, T* lp, TabularWorkspace<T>& ws) const {
  const PartSpec& ps = spec_.parts[p];
  ws.cat.resize(spec_.parts.size());
  ws.flow.resize(spec_.parts.size());
  ws.flow_ctx.resize(spec_.parts.size());
  if (cats_[p]) {
    const int Gp = int(ps.levels.size());
    ws.codes_p.resize(size_t(B) * Gp);
    for (int r = 0; r < B; ++r)
      for (int g = 0; g < Gp; ++g) ws.codes_p[size_t(r) * Gp + g] = codes[size_t(r) * G_ + go_[p] + g];
    ws.cat_ctx.resize(spec_.parts.size());
    prefix(ws, B, fo_[p], ws.cat_ctx[p]);
    cats_[p]->forward(P, ws.codes_p.data(), ws.cat_ctx[p].data(), B, lp, ws.cat[p]);
  } else if (tabs_[p]) {
    part_codes(p, B, codes, ws.codes_p);
    tabs_[p]->forward(P, ws.codes_p.data(), B, lp);
  }
  if (flows_[p]) {
    ws.u_p.resize(size_t(B) * ps.dims);
    for (int r = 0; r < B; ++r)
      for (int i = 0; i < ps.dims; ++i) ws.u_p[size_t(r) * ps.dims + i] = u[size_t(r) * D_ + dof_[p] + i];
    prefix(ws, B, fo_[p] + W_[p], ws.flow_ctx[p]);
    std::vector<T> lpf(B);
    flows_[p]->log_prob(P, ws.u_p.data(), ws.flow_ctx[p].data(), B, lpf.data(), ws.flow[p]);
    for (int r = 0; r < B; ++r)
      if (!skip_flow || !skip_flow[r]) lp[r] += lpf[r];
  }
}

template <class T>
void TabularModel<T>::init_from_data(T* P, const int* codes, const T* u, int N,
                                     TabularWorkspace<T>& ws) const {
  for (size_t p = 0; p < cats_.size(); ++p) {
    if (!cats_[p]) continue;
    const int Gp = int(spec_.parts[p].levels.size());
    std::vector<int> cp(size_t(N) * Gp);
    for (int r = 0; r < N; ++r)
      for (int g = 0; g < Gp; ++g) cp[size_t(r) * Gp + g] = codes[size_t(r) * G_ + go_[p] + g];
    cats_[p]->init_from_data(P, cp.data(), N);
  }
  // Only ActNorm layers initialize from data. Without them the flows' pass over the N rows, and
  // its N x feature-width buffers (the one-hot codes of every categorical column), is skipped.
  if (!spec_.flow.actnorm) return;
  fill_features(codes, u, N, ws);
  for (size_t p = 0; p < flows_.size(); ++p) {
    if (!flows_[p]) continue;
    const int Dp = spec_.parts[p].dims;
    std::vector<T> up(size_t(N) * Dp);
    for (int r = 0; r < N; ++r)
      for (int i = 0; i < Dp; ++i) up[size_t(r) * Dp + i] = u[size_t(r) * D_ + dof_[p] + i];
    prefix(ws, N, fo_[p] + W_[p], ws.ctx);
    FlowWorkspace<T> fw;
    flows_[p]->init_from_data(P, up.data(), ws.ctx.data(), N, fw);
  }
  // N (up to 4096) rows of features: released, so training's smaller batches do not keep them.
  ws.F = {};
  ws.ctx = {};
}

template <class T>
void TabularModel<T>::log_prob(const T* P, const int* codes, const T* u, int B, T* logp,
                               TabularWorkspace<T>& ws) const {
  fill_features(codes, u, B, ws);
  std::fill(logp, logp + B, T(0));
  for (size_t p = 0; p < spec_.parts.size(); ++p)
    part_log_prob(P, int(p), B, codes, u, nullptr, logp, ws);
}

template <class T>
void TabularModel<T>::log_prob_terms(const T* P, const int* codes, const T* u, int B, T* terms,
                                     TabularWorkspace<T>& ws) const {
  fill_features(codes, u, B, ws);
  const int M = modules();
  std::fill(terms, terms + size_t(B) * M, T(0));
  std::vector<T> lp(B);
  for (size_t p = 0; p < spec_.parts.size(); ++p) {
    std::fill(lp.begin(), lp.end(), T(0));  // CategoricalMade::forward adds to it
    if (cats_[p]) {
      const PartSpec& ps = spec_.parts[p];
      const int Gp = int(ps.levels.size());
      ws.cat.resize(spec_.parts.size());
      ws.codes_p.resize(size_t(B) * Gp);
      for (int r = 0; r < B; ++r)
        for (int g = 0; g < Gp; ++g) ws.codes_p[size_t(r) * Gp + g] = codes[size_t(r) * G_ + go_[p] + g];
      ws.cat_ctx.resize(spec_.parts.size());
      prefix(ws, B, fo_[p], ws.cat_ctx[p]);
      cats_[p]->forward(P, ws.codes_p.data(), ws.cat_ctx[p].data(), B, lp.data(), ws.cat[p]);
      for (int r = 0; r < B; ++r) terms[size_t(r) * M + 2 * p] = lp[r];
    } else if (tabs_[p]) {
      part_codes(int(p), B, codes, ws.codes_p);
      tabs_[p]->forward(P, ws.codes_p.data(), B, lp.data());
      for (int r = 0; r < B; ++r) terms[size_t(r) * M + 2 * p] = lp[r];
    }
    if (flows_[p]) {
      const int Dp = spec_.parts[p].dims;
      ws.flow.resize(spec_.parts.size());
      ws.flow_ctx.resize(spec_.parts.size());
      ws.u_p.resize(size_t(B) * Dp);
      for (int r = 0; r < B; ++r)
        for (int i = 0; i < Dp; ++i) ws.u_p[size_t(r) * Dp + i] = u[size_t(r) * D_ + dof_[p] + i];
      prefix(ws, B, fo_[p] + W_[p], ws.flow_ctx[p]);
      std::fill(lp.begin(), lp.end(), T(0));
      flows_[p]->log_prob(P, ws.u_p.data(), ws.flow_ctx[p].data(), B, lp.data(), ws.flow[p]);
      for (int r = 0; r < B; ++r) terms[size_t(r) * M + 2 * p + 1] = lp[r];
    }
  }
}

template <class T>
std::vector<std::pair<size_t, size_t>> TabularModel<T>::module_params(int m) const {
  EF_CHECK(m >= 0 && m < modules(), "module ", m, " out of range");
  const std::string name = "part" + std::to_string(m / 2) + (m % 2 == 0 ? ".cat." : ".flow.");
  std::vector<std::pair<size_t, size_t>> out;
  for (const ParamTensor& t : layout_.tensors())
    if (t.name.compare(0, name.size(), name) == 0) out.emplace_back(t.offset, t.size);
  return out;
}

template <class T>
void TabularModel<T>::backward(const T* P, const T* dlogp, int B, T* grads,
                               TabularWorkspace<T>& ws) const {
  for (size_t p = 0; p < spec_.parts.size(); ++p) {
    if (cats_[p]) cats_[p]->backward(P, dlogp, B, grads, nullptr, ws.cat[p]);
    if (flows_[p]) flows_[p]->backward(P, dlogp, B, grads, nullptr, nullptr, ws.flow[p]);
  }
}

template <class T>
void TabularModel<T>::draw_part(const T* P, int p, int B, uint64_t seed, uint64_t row_offset,
                                int* codes, T* u, TabularWorkspace<T>& ws) const {
  const PartSpec& ps = spec_.parts[p];
  ws.cat.resize(spec_.parts.size());
  ws.flow.resize(spec_.parts.size());
  if (cats_[p]) {
    const int Gp = int(ps.levels.size());
    prefix(ws, B, fo_[p], ws.ctx);
    ws.codes_p.resize(size_t(B) * Gp);
    cats_[p]->sample(P, ws.ctx.data(), B, seed, 100 + uint64_t(p), row_offset, nullptr,
                     ws.codes_p.data(), ws.cat[p]);
    for (int r = 0; r < B; ++r)
      for (int g = 0; g < Gp; ++g) codes[size_t(r) * G_ + go_[p] + g] = ws.codes_p[size_t(r) * Gp + g];
  } else if (tabs_[p]) {
    const int Gp = int(ps.levels.size());
    ws.codes_p.resize(size_t(B) * Gp);
    tabs_[p]->sample(P, B, seed, 100 + uint64_t(p), row_offset, ws.codes_p.data());
    for (int r = 0; r < B; ++r)
      for (int g = 0; g < Gp; ++g) codes[size_t(r) * G_ + go_[p] + g] = ws.codes_p[size_t(r) * Gp + g];
  }
  write_part_features(p, B, codes, u, ws);  // one-hot of this part's codes (u written below)
  if (flows_[p]) {
    const int Dp = ps.dims;
    std::vector<T> z(size_t(B) * Dp), x(size_t(B) * Dp);
    // Counter-based draws (each value depends only on its index), so threads change nothing.
#pragma omp parallel for schedule(static) if (size_t(B) * Dp >= ef::kOmpMinMath)
    for (int r = 0; r < B; ++r)
      for (int i = 0; i < Dp; ++i)
        z[size_t(r) * Dp + i] = T(math::rand_normal(seed, 200 + uint64_t(p), (row_offset + uint64_t(r)) * Dp + i));
    prefix(ws, B, fo_[p] + W_[p], ws.ctx);
    flows_[p]->inverse(P, z.data(), ws.ctx.data(), B, x.data(), ws.flow[p]);
    for (int r = 0; r < B; ++r)
      for (int i = 0; i < Dp; ++i) u[size_t(r) * D_ + dof_[p] + i] = x[size_t(r) * Dp + i];
    write_part_features(p, B, codes, u, ws);
  }
}

template <class T>
void TabularModel<T>::sample(const T* P, int n, uint64_t seed, uint64_t row_offset,
                             const Given<T>* given, int* codes, T* u, TabularWorkspace<T>& ws,
                             SampleInfo* info) const {
  const int nparts = int(spec_.parts.size());
  SampleInfo local;
  SampleInfo& inf = info ? *info : local;
  inf = SampleInfo();
  auto is_given = [&](int p) { return given && p < spec_.c_parts && given->fixed[p]; };
  int last = -1;
  for (int p = 0; p < nparts; ++p)
    if (is_given(p)) last = p;
  // Writes the given values of part p into rows [0, B) (fills drawn fresh per row).
  auto set_given = [&](int p, int B, uint64_t off, int* c, T* x) {
    const PartSpec& ps = spec_.parts[p];
    for (int r = 0; r < B; ++r) {
      for (size_t g = 0; g < ps.levels.size(); ++g)
        c[size_t(r) * G_ + go_[p] + g] = given->codes[go_[p] + g];
      for (int i = 0; i < ps.dims; ++i)
        x[size_t(r) * D_ + dof_[p] + i] =
            given->flow_counts[p] ? given->u[dof_[p] + i]
                                  : T(math::rand_normal(seed, 400 + uint64_t(p), (off + r) * ps.dims + i));
    }
  };
  std::fill(codes, codes + size_t(n) * G_, -1);
  std::fill(u, u + size_t(n) * D_, T(0));
  ws.F.assign(size_t(n) * Fw_, T(0));

  bool free_before = false, free_cats_only = true;
  double combos = 1;
  for (int p = 0; p < last; ++p)
    if (!is_given(p)) {
      free_before = true;
      if (spec_.parts[p].dims > 0) free_cats_only = false;
      for (int k : spec_.parts[p].levels) combos *= k;
    }

  int start = 0;  // first part still to draw ancestrally
  if (!free_before) {
    // Given parts form a prefix of what matters: ancestral draws with them fixed are exact.
    for (int p = 0; p <= last; ++p) {
      set_given(p, n, row_offset, codes, u);
      write_part_features(p, n, codes, u, ws);
    }
    start = last + 1;
  } else if (free_cats_only && combos <= 4096) {
    // Enumerate the free categorical parts before the last given one: exact posterior weights.
    inf.method = "enumeration";
    const int E = int(combos);
    inf.proposals = size_t(E);
    std::vector<int> ec(size_t(E) * G_, -1);
    std::vector<T> eu(size_t(E) * D_, T(0));
    TabularWorkspace<T> ews;
    ews.F.assign(size_t(E) * Fw_, T(0));
    std::vector<T> lw(E, T(0));
    for (int p = 0; p <= last; ++p) {
      if (is_given(p)) {
        set_given(p, E, 0, ec.data(), eu.data());
      } else {
        for (int e = 0; e < E; ++e) {
          // Mixed-radix digit of e for each group of part p.
          long rest = e;
          for (int q = 0; q < p; ++q)
            if (!is_given(q))
              for (int k : spec_.parts[q].levels) rest /= k;
          for (size_t g = 0; g < spec_.parts[p].levels.size(); ++g) {
            const int k = spec_.parts[p].levels[g];
            ec[size_t(e) * G_ + go_[p] + g] = int(rest % k);
            rest /= k;
          }
        }
      }
      write_part_features(p, E, ec.data(), eu.data(), ews);
      std::vector<char> skip(E, is_given(p) && !given->flow_counts[p]);
      part_log_prob(P, p, E, ec.data(), eu.data(), skip.data(), lw.data(), ews);
    }
    const T mx = *std::max_element(lw.begin(), lw.end());
    std::vector<double> cdf(E);
    double s = 0;
    for (int e = 0; e < E; ++e) cdf[e] = (s += std::exp(double(lw[e] - mx)));
    for (int r = 0; r < n; ++r) {
      const double t = math::rand_uniform(seed, 300, row_offset + uint64_t(r)) * s;
      const int e = int(std::min<ptrdiff_t>(std::lower_bound(cdf.begin(), cdf.end(), t) - cdf.begin(), E - 1));
      std::copy(&ec[size_t(e) * G_], &ec[size_t(e + 1) * G_], codes + size_t(r) * G_);
      std::copy(&eu[size_t(e) * D_], &eu[size_t(e + 1) * D_], u + size_t(r) * D_);
    }
    for (int p = 0; p <= last; ++p) write_part_features(p, n, codes, u, ws);
    start = last + 1;
  } else {
    // Importance resampling: draw the free parts from their model conditionals with the given
    // ones fixed; weights are the exact conditional densities of the given values.
    inf.method = "importance";
    const int K = 32;
    const size_t M = size_t(n) * K;
    inf.proposals = M;
    std::vector<int> pc(M * G_, -1);
    std::vector<T> pu(M * D_, T(0));
    std::vector<T> lw(M, T(0));
    TabularWorkspace<T> pws;
    pws.F.assign(M * Fw_, T(0));
    for (int p = 0; p <= last; ++p) {
      if (is_given(p)) {
        set_given(p, int(M), row_offset * K, pc.data(), pu.data());
        write_part_features(p, int(M), pc.data(), pu.data(), pws);
        std::vector<char> skip(M, !given->flow_counts[p]);
        part_log_prob(P, p, int(M), pc.data(), pu.data(), skip.data(), lw.data(), pws);
      } else {
        draw_part(P, p, int(M), seed ^ 0x5bd1e995ULL, row_offset * K, pc.data(), pu.data(), pws);
      }
    }
    const T mx = *std::max_element(lw.begin(), lw.end());
    std::vector<double> cdf(M);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < M; ++i) {
      const double w = std::exp(double(lw[i] - mx));
      cdf[i] = (s += w);
      s2 += w * w;
    }
    inf.ess = s * s / s2;
    // Systematic resampling of n rows.
    const double u0 = math::rand_uniform(seed, 301, row_offset);
    size_t j = 0;
    for (int r = 0; r < n; ++r) {
      const double t = (r + u0) / n * s;
      while (j + 1 < M && cdf[j] < t) ++j;
      std::copy(&pc[j * G_], &pc[(j + 1) * G_], codes + size_t(r) * G_);
      std::copy(&pu[j * D_], &pu[(j + 1) * D_], u + size_t(r) * D_);
    }
    for (int p = 0; p <= last; ++p) write_part_features(p, n, codes, u, ws);
    start = last + 1;
  }
  for (int p = start; p < nparts; ++p) draw_part(P, p, n, seed, row_offset, codes, u, ws);
}

template class TabularModel<float>;
template class TabularModel<double>;

}  // namespace ef
