// The flow-kind registry: the one list of the flow layer kinds. Everything that names, checks or
// builds a kind reads it: FlowKind itself (engine/flow_spec.hpp), to_string / flow_kind_from
// (the config's "flow", the model file, eftrain, efbench), the Python package's accepted names
// (echoflow._core.flow_kinds()), the CPU layer construction (engine/flow.cpp) and the device
// backend's plan (engine/device_backend_impl.hpp: structure x transform picks its ops).
//
// Adding a kind: its per-element math (kernels/flow_math.hpp or spline_math.hpp style, shared with
// the device), its CPU layer file (engine/<kind>_layer.cpp, a Layer<T> with forward, backward
// and inverse), and one entry here: the X line below plus its factory layer_<stem> in
// engine/flow_kinds.cpp. A kind whose structure and transform the device already runs needs
// nothing else; a new transform also needs its kernels/ops functors and a case in the device
// backend's transform dispatch (docs/ARCHITECTURE.md, "Flow kinds (registry)").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ef {

struct FlowSpec;
class ParamLayout;
template <class T>
class Layer;

// One line per kind:
//   X(enumerator, name, CPU layer's name(), structure, transform, factory stem)
// name: the config / model file / Python spelling; structure: which dims a layer's conditioner
// reads (Autoregressive: x_<i, inverted one degree per pass; Coupling: a pass-through half,
// inverted in one pass); transform: the per-dimension bijection its conditioner parameterizes.
#define EF_FLOW_KINDS(X)                                                         \
  X(MAF, "maf", "maf", Autoregressive, Affine, maf)                              \
  X(RealNVP, "realnvp", "coupling", Coupling, Affine, realnvp)                   \
  X(NSFCoupling, "nsf-coupling", "nsf-coupling", Coupling, Spline, nsf_coupling) \
  X(NSFAR, "nsf-ar", "nsf-ar", Autoregressive, Spline, nsf_ar)

#define EF_FLOW_KIND_ENUMERATOR(e, ...) e,
enum class FlowKind { EF_FLOW_KINDS(EF_FLOW_KIND_ENUMERATOR) };
#undef EF_FLOW_KIND_ENUMERATOR

enum class FlowStructure { Autoregressive, Coupling };
enum class FlowTransform { Affine, Spline };

// Builds flow layer l of a spec (its coupling mask, degrees, bins ... from the spec).
template <class T>
using LayerFactory = std::unique_ptr<Layer<T>> (*)(const FlowSpec& spec, int l, uint64_t seed,
                                                   ParamLayout& layout, const std::string& prefix);

struct FlowKindInfo {
  FlowKind kind;
  const char* name;
  const char* layer_name;
  FlowStructure structure;
  FlowTransform transform;
  LayerFactory<float> make_float;
  LayerFactory<double> make_double;

  bool autoregressive() const { return structure == FlowStructure::Autoregressive; }
  bool spline() const { return transform == FlowTransform::Spline; }
  template <class T>
  LayerFactory<T> factory() const;
};
template <>
inline LayerFactory<float> FlowKindInfo::factory<float>() const {
  return make_float;
}
template <>
inline LayerFactory<double> FlowKindInfo::factory<double>() const {
  return make_double;
}

const std::vector<FlowKindInfo>& flow_kinds();  // every kind, in enum order
const FlowKindInfo& flow_kind_info(FlowKind k);
const FlowKindInfo* find_flow_kind(const std::string& name);  // null when unknown
std::vector<std::string> flow_kind_names();
// "\"maf\", \"realnvp\", \"nsf-coupling\" or \"nsf-ar\"": the names for error messages.
std::string flow_kind_list();

}  // namespace ef
