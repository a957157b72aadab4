#include "flow_spec.hpp"

#include "error.hpp"

namespace ef {

bool is_autoregressive(FlowKind k) { return flow_kind_info(k).autoregressive(); }
Permutation default_permutation(FlowKind k) {
  return is_autoregressive(k) ? Permutation::Reverse : Permutation::None;
}
FlowKind layer_kind(const FlowSpec& s, int l) {
  return s.mix.empty() ? s.kind : s.mix[size_t(l) % s.mix.size()];
}
std::vector<FlowKind> layer_kinds(const FlowSpec& s) {
  return s.mix.empty() ? std::vector<FlowKind>{s.kind} : s.mix;
}
void set_layer_kinds(FlowSpec& s, const std::vector<FlowKind>& kinds) {
  EF_CHECK(!kinds.empty(), "a flow needs at least one layer kind");
  s.kind = kinds[0];
  s.mix = kinds.size() > 1 ? kinds : std::vector<FlowKind>{};
}
bool has_splines(const FlowSpec& s) {
  for (FlowKind k : layer_kinds(s))
    if (flow_kind_info(k).spline()) return true;
  return false;
}
Permutation default_permutation(const FlowSpec& s) {
  for (FlowKind k : layer_kinds(s))
    if (is_autoregressive(k)) return Permutation::Reverse;
  return Permutation::None;
}
std::string flow_name(const FlowSpec& s) {
  std::string r;
  for (FlowKind k : layer_kinds(s)) r += (r.empty() ? "" : "+") + std::string(to_string(k));
  return r;
}
const char* to_string(FlowKind k) { return flow_kind_info(k).name; }
const char* to_string(Activation a) { return a == Activation::ReLU ? "relu" : "tanh"; }
const char* to_string(Degrees d) { return d == Degrees::Sequential ? "sequential" : "random"; }
const char* to_string(Permutation p) {
  return p == Permutation::Reverse ? "reverse" : p == Permutation::Random ? "random" : "none";
}
const char* to_string(CouplingMask m) {
  return m == CouplingMask::Alternating ? "alternating" : "random";
}
FlowKind flow_kind_from(const std::string& s) {
  if (const FlowKindInfo* k = find_flow_kind(s)) return k->kind;
  EF_THROW("unknown flow \"", s, "\" (expected ", flow_kind_list(), ")");
}
Activation activation_from(const std::string& s) {
  if (s == "relu") return Activation::ReLU;
  if (s == "tanh") return Activation::Tanh;
  EF_THROW("unknown activation \"", s, "\" (expected \"relu\" or \"tanh\")");
}
Degrees degrees_from(const std::string& s) {
  if (s == "sequential") return Degrees::Sequential;
  if (s == "random") return Degrees::Random;
  EF_THROW("unknown degrees \"", s, "\" (expected \"sequential\" or \"random\")");
}
Permutation permutation_from(const std::string& s) {
  if (s == "reverse") return Permutation::Reverse;
  if (s == "random") return Permutation::Random;
  if (s == "none") return Permutation::None;
  EF_THROW("unknown permutation \"", s, "\" (expected \"reverse\", \"random\" or \"none\")");
}
CouplingMask coupling_mask_from(const std::string& s) {
  if (s == "alternating") return CouplingMask::Alternating;
  if (s == "random") return CouplingMask::Random;
  EF_THROW("unknown masks \"", s, "\" (expected \"alternating\" or \"random\")");
}

}  // namespace ef
