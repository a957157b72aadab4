// What a flow is: the hyper-parameters that, with a seed, determine every mask, permutation
// and parameter offset. Saved in the model file; rebuilt identically on load.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flow_kinds.hpp"

namespace ef {

// FlowKind (engine/flow_kinds.hpp, the registry): MAF: affine autoregressive; RealNVP: affine
// coupling; NSFCoupling / NSFAR: monotone rational-quadratic spline coupling / autoregressive
// layers (Durkan et al. 2019).
enum class Activation { ReLU, Tanh };
enum class Degrees { Sequential, Random };      // MADE hidden-unit degree assignment
enum class Permutation { Reverse, Random, None };  // between flow layers
enum class CouplingMask { Alternating, Random };   // RealNVP masks

struct FlowSpec {
  FlowKind kind = FlowKind::MAF;   // every layer's kind, unless mix is set
  // Mixed flows ("flow": ["nsf-coupling", "realnvp"] in the config): layer l is
  // mix[l % mix.size()]; kind is then mix[0]. Empty: all layers are `kind`.
  std::vector<FlowKind> mix;
  int dim = 2;                     // D: dimensions transformed
  int context = 0;                 // C: context inputs fed to every conditioner
  int layers = 5;                  // flow layers (MAF or coupling)
  std::vector<int> hidden{128, 128};  // conditioner hidden widths
  Activation activation = Activation::ReLU;
  Degrees degrees = Degrees::Sequential;
  Permutation permutation = Permutation::Reverse;
  CouplingMask masks = CouplingMask::Alternating;
  bool actnorm = false;            // ActNorm before each flow layer
  double clamp = 3.0;              // soft clamp c of log-scales
  int bins = 8;                    // K: spline bins per dimension (nsf-coupling, nsf-ar)
  double tail_bound = 3.0;         // B: splines act on [-B, B], identity outside
  uint64_t seed = 0;               // masks, permutations and initial weights
};

// Autoregressive kinds (MAF, nsf-ar) default to a reverse permutation between steps; coupling
// kinds to none (their alternating masks already mix). Both read the registry.
bool is_autoregressive(FlowKind k);
Permutation default_permutation(FlowKind k);
FlowKind layer_kind(const FlowSpec& s, int l);  // the kind of flow layer l
std::vector<FlowKind> layer_kinds(const FlowSpec& s);  // the kinds the layers cycle through
// Sets kind and mix from a list of kinds (one kind: mix stays empty).
void set_layer_kinds(FlowSpec& s, const std::vector<FlowKind>& kinds);
bool has_splines(const FlowSpec& s);            // any nsf-coupling / nsf-ar layer
// Reverse when any layer is autoregressive (MAF, nsf-ar), else none (couplings alternate).
Permutation default_permutation(const FlowSpec& s);
std::string flow_name(const FlowSpec& s);  // "maf", or "nsf-coupling+realnvp" for a mix
const char* to_string(FlowKind k);
const char* to_string(Activation a);
const char* to_string(Degrees d);
const char* to_string(Permutation p);
const char* to_string(CouplingMask m);
FlowKind flow_kind_from(const std::string& s);
Activation activation_from(const std::string& s);
Degrees degrees_from(const std::string& s);
Permutation permutation_from(const std::string& s);
CouplingMask coupling_mask_from(const std::string& s);

}  // namespace ef
