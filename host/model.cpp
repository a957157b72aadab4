// echoflow::Model: fit, score, sample on top of the encoders and a Backend.
#include <cmath>
#include <cstdlib>
#include <limits>

#include "blas.hpp"
#include "flow_math.hpp"
#include "model_impl.hpp"

namespace echoflow {

ef::Backend& Model::Impl::backend() const {
  if (!be) {
    be = ef::make_backend(device, spec);
    be->set_params(params);
  }
  return *be;
}

void Model::Impl::build_order() {
  order.clear();
  for (auto& c : conditional)
    for (size_t i = 0; i < enc.size(); ++i)
      if (enc[i].name == c) order.push_back(int(i));
  for (size_t i = 0; i < enc.size(); ++i) {
    bool cond = false;
    for (auto& c : conditional) cond |= enc[i].name == c;
    if (!cond) order.push_back(int(i));
  }
}

Model Model::fit(const Table& data, const FitOptions& opt) {
  const std::string src = data.source.empty() ? "table" : data.source;
  EF_CHECK(!data.columns.empty(), src, ": no columns to model");
  EF_CHECK(data.rows() >= 2, src, ": at least 2 rows are needed to train (got ", data.rows(), ")");
  auto impl = std::make_shared<Impl>();
  for (auto& col : data.columns) {
    EF_CHECK(col.values.size() == data.rows(), src, ": column \"", col.name, "\" has ",
             col.values.size(), " values, expected ", data.rows());
    EF_CHECK(col.type != ColumnType::Categorical, src, ": column \"", col.name,
             "\": categorical columns are not supported in this version");
    impl->enc.push_back(ef::ColumnEncoder::fit(col.name, col.type, col.values));
  }
  for (auto& c : opt.conditional) {
    EF_CHECK(data.find(c) >= 0, "conditional column \"", c, "\" is not a column of ", src);
    for (auto& prev : impl->conditional) EF_CHECK(prev != c, "conditional column \"", c, "\" listed twice");
    impl->conditional.push_back(c);
  }
  impl->build_order();
  impl->spec.flow = opt.flow;
  impl->spec.dim_c = int(impl->conditional.size());
  impl->spec.dim_r = int(impl->enc.size()) - impl->spec.dim_c;
  impl->spec.ext_context = 0;
  impl->device = opt.device;
  impl->config = opt.config;
  if (opt.threads > 0) ef::set_num_threads(opt.threads);

  // Encode to rows u (N, D) in block order; the log-Jacobian is the same for every row.
  const int N = int(data.rows()), D = int(impl->enc.size());
  std::vector<float> u(size_t(N) * D);
  std::vector<float> width(D);
  double logj = 0;
  for (int k = 0; k < D; ++k) {
    const ef::ColumnEncoder& e = impl->enc[impl->order[k]];
    const auto& vals = data.columns[impl->order[k]].values;
    for (int r = 0; r < N; ++r) u[size_t(r) * D + k] = float(e.encode(vals[r]));
    width[k] = float(e.dequant_width());
    logj += e.log_jacobian();
  }
  ef::TrainOptions topt = opt.train;
  topt.nll_offset = -logj;  // report NLLs in original units

  auto be = ef::make_backend(opt.device, impl->spec);
  be->init_params();
  impl->train = ef::train(*be, u, nullptr, N, D, width, topt, opt.on_epoch);
  impl->params = be->get_params();
  impl->be = std::move(be);
  Model m;
  m.impl_ = impl;
  return m;
}

std::vector<double> Model::score(const Table& t) const {
  const Impl& I = *impl_;
  const std::string src = t.source.empty() ? "table" : t.source;
  const int D = int(I.enc.size());
  std::vector<int> src_col(D);
  for (int k = 0; k < D; ++k) {
    const ef::ColumnEncoder& e = I.enc[I.order[k]];
    src_col[k] = t.find(e.name);
    EF_CHECK(src_col[k] >= 0, src, ": column \"", e.name, "\" of the model is missing");
  }
  const size_t N = t.rows();
  double logj = 0;
  bool any_int = false;
  for (auto& e : I.enc) {
    logj += e.log_jacobian();
    any_int |= e.type == ColumnType::Integer;
  }
  // Integer columns: average log p over S stratified dequantization offsets, an estimate of the
  // bound E_v log p(k + v) <= log P(k). Continuous-only tables need one pass.
  const int S = any_int ? 8 : 1;
  std::vector<double> out(N, 0.0);
  std::lock_guard<std::mutex> lock(I.mu);
  ef::Backend& be = I.backend();
  const size_t chunk = 4096;
  std::vector<float> u, lp;
  for (size_t r0 = 0; r0 < N; r0 += chunk) {
    const int b = int(std::min(chunk, N - r0));
    u.resize(size_t(b) * D);
    lp.resize(b);
    for (int s = 0; s < S; ++s) {
      for (int r = 0; r < b; ++r)
        for (int k = 0; k < D; ++k) {
          const ef::ColumnEncoder& e = I.enc[I.order[k]];
          double x = t.columns[src_col[k]].values[r0 + r];
          if (e.type == ColumnType::Integer) {
            const double jitter = ef::math::rand_uniform(12345, uint64_t(k), uint64_t(s));
            x += (s + jitter) / S;
          }
          u[size_t(r) * D + k] = float(e.encode(x));
        }
      be.score(u.data(), nullptr, b, lp.data());
      for (int r = 0; r < b; ++r) out[r0 + r] += double(lp[r]) / S;
    }
  }
  for (auto& v : out) v += logj;
  return out;
}

Table Model::sample(size_t n, const std::map<std::string, std::string>& given, uint64_t seed) const {
  const Impl& I = *impl_;
  EF_CHECK(n >= 1, "the number of rows to sample must be positive");
  const int D = int(I.enc.size()), Dc = I.spec.dim_c;
  std::vector<float> given_c;
  for (auto& kv : given) {
    bool known = false, cond = false;
    for (auto& e : I.enc) known |= e.name == kv.first;
    for (auto& c : I.conditional) cond |= c == kv.first;
    if (!known) EF_THROW("--given ", kv.first, ": no such column in the model");
    if (!cond)
      EF_THROW("--given ", kv.first, ": the column was not declared \"conditional\" at training "
               "time (conditional columns: ", I.conditional.empty() ? "none" : "", [&] {
                 std::string s;
                 for (auto& c : I.conditional) s += (s.empty() ? "" : ", ") + c;
                 return s;
               }(), ")");
  }
  if (!given.empty()) {
    if (given.size() != I.conditional.size())
      EF_THROW("--given must fix every conditional column in this version (", I.conditional.size(),
               " declared, ", given.size(), " given)");
    given_c.resize(size_t(Dc));
    for (int k = 0; k < Dc; ++k) {
      const ef::ColumnEncoder& e = I.enc[I.order[k]];
      const std::string& s = given.at(e.name);
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0' || !std::isfinite(v))
        EF_THROW("--given ", e.name, "=", s, ": not a finite number");
      if (e.type == ColumnType::Integer && v != std::floor(v))
        EF_THROW("--given ", e.name, "=", s, ": the column is integer");
      // An integer value k is the dequantized cell [k, k+1); condition on its midpoint.
      given_c[k] = float(e.encode(e.type == ColumnType::Integer ? v + 0.5 : v));
    }
  }
  Table t;
  for (auto& e : I.enc) t.columns.push_back({e.name, e.type, std::vector<double>(n)});
  std::lock_guard<std::mutex> lock(I.mu);
  ef::Backend& be = I.backend();
  const size_t chunk = 4096;
  std::vector<float> u, gc;
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    const int b = int(std::min(chunk, n - r0));
    u.resize(size_t(b) * D);
    if (!given_c.empty()) {
      gc.resize(size_t(b) * Dc);
      for (int r = 0; r < b; ++r) std::copy(given_c.begin(), given_c.end(), gc.begin() + size_t(r) * Dc);
    }
    be.sample(b, seed, r0, given_c.empty() ? nullptr : gc.data(), nullptr, u.data());
    for (int r = 0; r < b; ++r)
      for (int k = 0; k < D; ++k) {
        const int c = I.order[k];
        t.columns[c].values[r0 + r] = I.enc[c].decode(u[size_t(r) * D + k]);
      }
  }
  // Given values are written exactly as given (no float round trip).
  for (auto& kv : given) {
    const int c = t.find(kv.first);
    const double v = std::strtod(kv.second.c_str(), nullptr);
    std::fill(t.columns[c].values.begin(), t.columns[c].values.end(), v);
  }
  return t;
}

std::vector<std::vector<float>> Model::layer_trace(size_t n, uint64_t seed) const {
  const Impl& I = *impl_;
  EF_CHECK(I.spec.dim_c == 0, "layer_trace needs a model without conditional columns");
  ef::JointModel<float> jm(I.spec);
  const int D = I.spec.dim_r;
  std::vector<float> z(n * size_t(D));
  for (size_t r = 0; r < n; ++r)
    for (int i = 0; i < D; ++i) z[r * D + i] = float(ef::math::rand_normal(seed, 1, r * D + i));
  std::vector<std::vector<float>> out;
  ef::FlowWorkspace<float> ws;
  jm.flow_r()->inverse_trace(I.params.data(), z.data(), nullptr, int(n), out, ws);
  return out;
}

std::map<std::string, ColumnType> Model::column_types() const {
  std::map<std::string, ColumnType> m;
  for (auto& e : impl_->enc) m[e.name] = e.type;
  return m;
}

const ef::TrainResult& Model::training() const { return impl_->train; }
const std::vector<std::string>& Model::conditional() const { return impl_->conditional; }
std::vector<std::string> Model::column_names() const {
  std::vector<std::string> v;
  for (auto& e : impl_->enc) v.push_back(e.name);
  return v;
}

std::string version_string() {
  const ef::CudaInfo& ci = ef::cuda_info();
  std::string s = std::string("echoflow ") + EF_VERSION + " (CUDA: ";
  if (!ci.compiled) return s + "not compiled)";
  return s + "compiled; " + (ci.devices > 0 ? std::to_string(ci.devices) + " device(s)" : "no usable device: " + ci.reason) + ")";
}

}  // namespace echoflow
