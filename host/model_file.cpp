// The .efm model file, version 2 (all integers little-endian):
//   offset 0   8 bytes   magic "EFMODEL\0"
//          8   u32       format version (2)
//         12   u32       H = header length in bytes
//         16   H bytes   JSON header (UTF-8): columns and encoders, conditional columns, block
//                        sizes, flow spec, parameter count and layout, training summary, config
//     16 + H   u64       P = parameter count
//     24 + H   P * f32   the flat parameter buffer (ParamLayout order)
//  24 + H + 4P u32       CRC-32 (zlib) of every preceding byte
// Written to a temporary file and renamed, after the image is parsed back and compared (a model
// that would not load is never written). Readers reject a bad magic, an unknown version, a
// size that does not match, or a CRC mismatch, naming the file.
// Format 2 (engine 0.2): coupling layers (realnvp, nsf-coupling) read only the pass-through dims
// and write only the transformed ones (engine/coupling_split.hpp), and MADE hidden units are in
// ascending degree order (engine/made_masks.cpp). Format-1 parameters do not fit either, so a
// format-1 file is refused with a message saying to retrain.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>

#include "communicator.hpp"
#include "config.hpp"
#include "flow_size.hpp"
#include "output_file.hpp"
#include "structure_search.hpp"
#include "tabular_model.hpp"
#include "model_impl.hpp"

namespace echoflow {
namespace {

constexpr char kMagic[8] = {'E', 'F', 'M', 'O', 'D', 'E', 'L', '\0'};
constexpr uint32_t kVersion = 2;

template <class V>
void put(std::string& s, V v) {
  char b[sizeof(V)];
  std::memcpy(b, &v, sizeof(V));  // little-endian hosts only (x86-64, aarch64)
  s.append(b, sizeof(V));
}
template <class V>
V take(const std::string& s, size_t& pos, const std::string& path, const char* what) {
  if (pos + sizeof(V) > s.size()) EF_THROW(path, ": truncated model file (while reading ", what, ")");
  V v;
  std::memcpy(&v, s.data() + pos, sizeof(V));
  pos += sizeof(V);
  return v;
}

nlohmann::json train_summary(const ef::TrainResult& t) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"epochs_run", t.epochs_run}, {"best_epoch", t.best_epoch},
          {"best_val_nll", num(t.best_val_nll)}, {"final_train_nll", num(t.final_train_nll)},
          {"stopped_early", t.stopped_early}, {"n_train", t.n_train}, {"n_val", t.n_val},
          {"seconds", t.seconds}, {"epochs", t.epochs}, {"batch_size", t.batch_size},
          {"patience", t.patience}, {"lr_drops", t.lr_drops}, {"ema", t.ema}, {"choice", t.choice},
          {"categorical_model", t.categorical_model},
          {"weight_decay", t.weight_decay}, {"decay_on", t.decay_on}};
}

// A lower bound on the parameter count of spec, computed without building anything, so that a
// header claiming huge layers is refused before their masks are allocated. Counted: each
// categorical MADE's dense layers (inputs: its one-hot width + context; outputs: the one-hot
// width), and for each autoregressive flow layer the dense layers from D + context inputs to at
// least 2D outputs. Coupling layers count half (one of two may transform nothing when D = 1),
// with only their hidden-to-hidden weights and biases.
double min_param_count(const ef::TabularSpec& spec) {
  const std::vector<int>& h = spec.flow.hidden;
  double hh = 0, hb = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    hb += h[i];
    if (i + 1 < h.size()) hh += double(h[i]) * h[i + 1];
  }
  auto dense = [&](double in, double out) {
    if (h.empty()) return in * out + out;
    return in * h.front() + hh + hb + h.back() * out + out;
  };
  int ar_layers = 0, coupling_layers = 0;
  for (int l = 0; l < spec.flow.layers; ++l)
    (ef::is_autoregressive(ef::layer_kind(spec.flow, l)) ? ar_layers : coupling_layers)++;
  double total = 0, ctx = 0;
  for (const ef::PartSpec& ps : spec.parts) {
    double w = 0;
    for (int k : ps.levels) w += k;
    if (ps.table())
      total += w;  // at least one row of every group's table
    else if (!ps.levels.empty())
      total += dense(w + ctx, w);
    if (ps.dims > 0)
      total += ar_layers * dense(ps.dims + ctx + w, 2.0 * ps.dims) + (coupling_layers / 2) * (hh + hb);
    ctx += w + ps.dims;
  }
  return total;
}

}  // namespace

// Parses a model file image; `path` is used in messages. Exposed for the fuzz target.
std::shared_ptr<Model::Impl> parse_model_bytes(const std::string& bytes, const std::string& path) {
  size_t pos = 0;
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    EF_THROW(path, ": not an EchoFlow model file (bad magic)");
  pos = 8;
  const uint32_t version = take<uint32_t>(bytes, pos, path, "version");
  if (version == 1)
    EF_THROW(path, ": model format version 1 was written by echoflow 0.1; its layers changed in format ",
             kVersion, " (compact coupling conditioners, sorted MADE degrees): retrain the model with this build");
  if (version != kVersion)
    EF_THROW(path, ": model format version ", version, " is not supported (this build reads ", kVersion, ")");
  const uint32_t hlen = take<uint32_t>(bytes, pos, path, "header length");
  if (pos + hlen > bytes.size()) EF_THROW(path, ": truncated model file (header)");
  const std::string header = bytes.substr(pos, hlen);
  pos += hlen;
  const uint64_t P = take<uint64_t>(bytes, pos, path, "parameter count");
  if (P > (bytes.size() - pos) / 4) EF_THROW(path, ": truncated model file (parameters)");
  const size_t param_pos = pos;
  pos += size_t(P) * 4;
  const uint32_t crc = take<uint32_t>(bytes, pos, path, "checksum");
  if (pos != bytes.size()) EF_THROW(path, ": trailing bytes after the model data");
  const uint32_t actual = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), uInt(pos - 4)));
  if (crc != actual) EF_THROW(path, ": checksum mismatch (the file is corrupt)");

  auto impl = std::make_shared<Model::Impl>();
  try {
    const nlohmann::json h = nlohmann::json::parse(header);
    for (auto& c : h.at("columns")) impl->enc.push_back(c.get<ef::ColumnEncoder>());
    EF_CHECK(!impl->enc.empty(), "no columns");
    EF_CHECK(impl->enc.size() <= 100000, "too many columns");
    std::set<std::string> names;
    for (auto& e : impl->enc) EF_CHECK(names.insert(e.name).second, "duplicate column \"", e.name, "\"");
    impl->conditional = h.at("conditional").get<std::vector<std::string>>();
    impl->missing_tokens = h.at("missing_tokens").get<std::vector<std::string>>();
    std::set<std::string> conds;
    for (const std::string& c : impl->conditional) {
      EF_CHECK(names.count(c), "conditional column \"", c, "\" is not a model column");
      EF_CHECK(conds.insert(c).second, "duplicate conditional column");
    }
    ef::flow_spec_from_json(h.at("model"), impl->spec.flow, path);
    // A file stores resolved sizes; "auto" bins can only come from a file without spline layers
    // (their bins are not written), where the count is unused.
    if (impl->spec.flow.bins == ef::kAutoBins) {
      EF_CHECK(!ef::has_splines(impl->spec.flow), path, ": model.bins must be a number in a model file");
      impl->spec.flow.bins = ef::kDefaultBins;
    }
    if (impl->spec.flow.tail_bound == ef::kAutoTailBound) {
      EF_CHECK(!ef::has_splines(impl->spec.flow), path, ": model.tail_bound must be a number in a model file");
      impl->spec.flow.tail_bound = ef::kDefaultTailBound;
    }
    impl->spec.flow.seed = h.at("seed").get<uint64_t>();
    // Absent in files written before the dependence order: table order.
    if (h.contains("categorical_order")) {
      impl->cat_order = h.at("categorical_order").get<std::vector<int>>();
      for (int c : impl->cat_order) EF_CHECK(c >= 0 && size_t(c) < impl->enc.size(), "categorical_order: no column ", c);
    }
    impl->build_layout();
    // Block R's categorical model as count tables (host/categorical_choice.hpp): the graph here,
    // the tables in the parameters. Absent in files written before it: the MADE.
    if (h.contains("categorical_table")) {
      EF_CHECK(impl->spec.c_parts == 0 && impl->spec.parts.size() == 1,
               "categorical_table: a table model needs a model without conditional columns");
      ef::PartSpec& ps = impl->spec.parts[0];
      ps.cpt_parents = h.at("categorical_table").at("parents").get<std::vector<std::vector<int>>>();
      const int G = int(ps.levels.size());
      EF_CHECK(int(ps.cpt_parents.size()) == G && G > 0, "categorical_table: ", ps.cpt_parents.size(),
               " parent sets for ", G, " categorical columns");
      for (const auto& pa : ps.cpt_parents)
        for (int q : pa) EF_CHECK(q >= 0 && q < G, "categorical_table: no column ", q);
      ps.cpt_order = ef::topological_order(ps.cpt_parents);
    }
    const double need = min_param_count(impl->spec);
    if (need > double(P))
      EF_THROW("the header describes at least ", need, " parameters but the file holds ", P);
    impl->config = h.value("config", nlohmann::json());
    const nlohmann::json& tr = h.at("training");
    impl->train.epochs_run = tr.value("epochs_run", 0);
    impl->train.best_epoch = tr.value("best_epoch", 0);
    impl->train.n_train = tr.value("n_train", 0);
    impl->train.n_val = tr.value("n_val", 0);
    impl->train.epochs = tr.value("epochs", 0);
    impl->train.batch_size = tr.value("batch_size", 0);
    impl->train.patience = tr.value("patience", 0);
    auto num = [&](const char* k) { return tr.contains(k) && tr[k].is_number() ? tr[k].get<double>() : NAN; };
    impl->train.best_val_nll = num("best_val_nll");
    impl->train.final_train_nll = num("final_train_nll");
    impl->train.seconds = tr.value("seconds", 0.0);
    impl->train.stopped_early = tr.value("stopped_early", false);
    impl->train.lr_drops = tr.value("lr_drops", 0);
    impl->train.ema = tr.value("ema", 0.0);
    impl->train.weight_decay = tr.value("weight_decay", 0.0);
    impl->train.decay_on = tr.value("decay_on", std::string());
    impl->train.choice = tr.value("choice", std::string());
    impl->train.categorical_model = tr.value("categorical_model", std::string());
    impl->schema = h.value("schema", nlohmann::json());
  } catch (const ef::Error& e) {
    EF_THROW(path, ": invalid model header: ", e.what());
  } catch (const std::exception& e) {
    EF_THROW(path, ": invalid model header: ", e.what());
  }
  // Rebuild the layout from the spec: the count must match exactly. Building it checks what the
  // header parse cannot see alone (a count table's parents ascending and not too many
  // configurations): its errors name the file too.
  size_t n_params = 0;
  try {
    n_params = ef::TabularModel<float>(impl->spec).num_params();
  } catch (const std::exception& e) {
    EF_THROW(path, ": invalid model header: ", e.what());
  }
  if (n_params != P) EF_THROW(path, ": the header describes ", n_params, " parameters but the file holds ", P);
  impl->params.resize(size_t(P));
  std::memcpy(impl->params.data(), bytes.data() + param_pos, size_t(P) * 4);
  for (float v : impl->params)
    if (!std::isfinite(v)) EF_THROW(path, ": non-finite parameter values");
  return impl;
}

// What train writes must load: the finished image is parsed back and compared with the model in
// memory before anything is renamed into place, so a model that cannot be read (a non-finite
// statistic stored as null, say) never replaces a good file.
static void check_round_trip(const Model::Impl& I, const std::string& image, const std::string& path) {
  std::shared_ptr<Model::Impl> back;
  try {
    back = parse_model_bytes(image, path);
  } catch (const std::exception& e) {
    EF_THROW(path, ": not written: the model would not load back: ", e.what());
  }
  const bool same = nlohmann::json(back->enc) == nlohmann::json(I.enc) && back->params == I.params &&
                    back->conditional == I.conditional && back->cat_order == I.cat_order &&
                    back->spec.parts.back().cpt_parents == I.spec.parts.back().cpt_parents;
  if (!same) EF_THROW(path, ": not written: the model read back differs from the one in memory");
}

void Model::save(const std::string& path) const {
  const Impl& I = *impl_;
  nlohmann::json h;
  h["format"] = "echoflow-model";
  h["format_version"] = kVersion;
  h["engine_version"] = EF_VERSION;
  h["columns"] = I.enc;
  h["conditional"] = I.conditional;
  h["missing_tokens"] = I.missing_tokens;
  h["model"] = ef::flow_spec_to_json(I.spec.flow);
  if (!I.cat_order.empty()) h["categorical_order"] = I.cat_order;  // column indices, model order
  if (I.spec.parts.back().table())  // block R's groups, model order
    h["categorical_table"] = {{"parents", I.spec.parts.back().cpt_parents}};
  h["seed"] = I.spec.flow.seed;
  h["blocks"] = {{"parts", I.spec.parts.size()}, {"conditional_parts", I.spec.c_parts},
                 {"categorical_groups", I.spec.groups()}, {"continuous_dims", I.spec.dims()}};
  h["param_count"] = I.params.size();
  h["training"] = train_summary(I.train);
  h["config"] = I.config;
  h["schema"] = I.schema;
  const std::string header = h.dump();
  std::string s(kMagic, 8);
  put<uint32_t>(s, kVersion);
  put<uint32_t>(s, uint32_t(header.size()));
  s += header;
  put<uint64_t>(s, uint64_t(I.params.size()));
  s.append(reinterpret_cast<const char*>(I.params.data()), I.params.size() * 4);
  put<uint32_t>(s, uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size()))));
  check_round_trip(I, s, path);
  ef::write_file_atomic(path, s, /*durable=*/true);
}

Model Model::load(const std::string& path) {
  // A regular file only: a FIFO or /dev/zero would block or grow without limit.
  const int fd = ef::open_regular_file(path, "the model file");
  struct stat st {};
  ::fstat(fd, &st);
  std::string bytes;
  try {
    bytes.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd, &bytes[got], bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) EF_THROW(path, ": cannot read the model file (", std::strerror(errno), ")");
      if (n == 0) break;  // shrank while being read: the checks below report it as truncated
      got += size_t(n);
    }
    bytes.resize(got);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  Model m;
  m.impl_ = parse_model_bytes(bytes, path);
  return m;
}

Model Model::load(const std::string& path, const ef::Communicator& ranks) {
  Model m = load(path);
  m.impl_->local_rank = ef::backend_local_rank(&ranks);
  return m;
}

}  // namespace echoflow
