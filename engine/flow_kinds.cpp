// The flow-kind registry's table (engine/flow_kinds.hpp) and each kind's layer factory: the
// spec's fields a kind's layer needs, passed to its layer file's make_*_layer.
#include "flow_kinds.hpp"

#include "error.hpp"
#include "flow.hpp"
#include "layer.hpp"

namespace ef {

namespace {

template <class T>
std::unique_ptr<Layer<T>> layer_maf(const FlowSpec& s, int /*l*/, uint64_t seed, ParamLayout& lay,
                                    const std::string& prefix) {
  return make_maf_layer<T>(s.dim, s.context, s.hidden, s.activation, s.degrees, s.clamp, seed,
                           lay, prefix);
}

template <class T>
std::unique_ptr<Layer<T>> layer_realnvp(const FlowSpec& s, int l, uint64_t seed, ParamLayout& lay,
                                        const std::string& prefix) {
  return make_coupling_layer<T>(coupling_mask(s, l), s.context, s.hidden, s.activation, s.clamp,
                                seed, lay, prefix);
}

template <class T>
std::unique_ptr<Layer<T>> layer_nsf_coupling(const FlowSpec& s, int l, uint64_t seed,
                                             ParamLayout& lay, const std::string& prefix) {
  return make_spline_coupling_layer<T>(coupling_mask(s, l), s.context, s.hidden, s.activation,
                                       s.bins, s.tail_bound, seed, lay, prefix);
}

template <class T>
std::unique_ptr<Layer<T>> layer_nsf_ar(const FlowSpec& s, int /*l*/, uint64_t seed,
                                       ParamLayout& lay, const std::string& prefix) {
  return make_spline_ar_layer<T>(s.dim, s.context, s.hidden, s.activation, s.degrees, s.bins,
                                 s.tail_bound, seed, lay, prefix);
}

}  // namespace

const std::vector<FlowKindInfo>& flow_kinds() {
#define EF_FLOW_KIND_ENTRY(e, name, layer_name, structure, transform, stem)                 \
  FlowKindInfo{FlowKind::e,           name,                  layer_name,                  \
               FlowStructure::structure, FlowTransform::transform, &layer_##stem<float>, \
               &layer_##stem<double>},
  static const std::vector<FlowKindInfo> kinds{EF_FLOW_KINDS(EF_FLOW_KIND_ENTRY)};
#undef EF_FLOW_KIND_ENTRY
  return kinds;
}

const FlowKindInfo& flow_kind_info(FlowKind k) {
  const auto& v = flow_kinds();
  const size_t i = size_t(k);
  EF_CHECK(i < v.size(), "flow kind ", int(k), " is not in the registry");
  return v[i];
}

const FlowKindInfo* find_flow_kind(const std::string& name) {
  for (const FlowKindInfo& k : flow_kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::vector<std::string> flow_kind_names() {
  std::vector<std::string> v;
  for (const FlowKindInfo& k : flow_kinds()) v.push_back(k.name);
  return v;
}

std::string flow_kind_list() {
  const auto& v = flow_kinds();
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += i + 1 == v.size() ? " or " : ", ";
    s += std::string("\"") + v[i].name + "\"";
  }
  return s;
}

}  // namespace ef
