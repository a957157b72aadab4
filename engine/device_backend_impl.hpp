// DeviceBackend<Exec> member definitions (included by device_backend.hpp; instantiated in
// engine/device_backend_host.cpp and engine/cuda_backend.cu). Each layer's forward, backward
// and inverse below mirrors its CPU reference file step by step (engine/maf_layer.cpp,
// coupling_layer.cpp, spline_*_layer.cpp, actnorm_layer.cpp, permutation_layer.cpp, flow.cpp,
// categorical_made.cpp, tabular_model.cpp); the per-element math is kernels/ops/.
#pragma once

namespace ef {

namespace device_detail {
inline ops::Act to_act(Activation a) {
  return a == Activation::ReLU ? ops::Act::ReLU : ops::Act::Tanh;
}
constexpr int kChunkRows = 65536;  // score / sample in chunks of at most this many rows
}  // namespace device_detail

template <class Exec>
DeviceBackend<Exec>::DeviceBackend(const TabularSpec& spec) : model_(spec) {
  n_ = model_.num_params();
  G_ = model_.groups();
  D_ = model_.dims();
  params_ = alloc<float>(fixed_, n_);
  grads_ = alloc<float>(fixed_, n_);
  m_ = alloc<float>(fixed_, n_);
  v_ = alloc<float>(fixed_, n_);
  fill(params_, n_, 0.f);
  fill(grads_, n_, 0.f);
  adam_ = alloc<ops::AdamState>(fixed_, 1);
  loss_ = alloc<double>(fixed_, 1);
  start_ = alloc<int>(fixed_, 1);
  counter_ = alloc<int>(fixed_, 1);
  ring_ = alloc<double>(fixed_, size_t(ring_K_));
  reset_optimizer();
  // Feature columns: per part, the one-hot of its groups then its continuous dims.
  std::vector<int> grp, val;
  int g0 = 0, d0 = 0;
  for (const PartSpec& ps : spec.parts) {
    for (size_t g = 0; g < ps.levels.size(); ++g)
      for (int k = 0; k < ps.levels[g]; ++k) {
        grp.push_back(g0 + int(g));
        val.push_back(k);
      }
    for (int i = 0; i < ps.dims; ++i) {
      grp.push_back(-1);
      val.push_back(d0 + i);
    }
    g0 += int(ps.levels.size());
    d0 += ps.dims;
  }
  Fw_ = int(grp.size());
  feat_grp_h_ = grp;
  feat_val_h_ = val;
  feat_grp_ = upload_fixed(grp);
  feat_val_ = upload_fixed(val);
  parts_.resize(spec.parts.size());
  for (int p = 0; p < int(spec.parts.size()); ++p) build_part(p);
  reserve(256);
}

template <class Exec>
DeviceBackend<Exec>::~DeviceBackend() {
  try {
    free_data();
  } catch (...) {  // a destructor must not throw; the context may already be gone
  }
  exec_.reset_graph(graph_);
  // The pools free their buffers as members (before exec_, declared ahead of them).
}

template <class Exec>
void DeviceBackend<Exec>::poison_scratch() {
  for (const DeviceBuffer<Exec>& b : acts_.buffers()) exec_.memset(b.get(), 0xFF, b.bytes());
}

template <class Exec>
size_t DeviceBackend<Exec>::find_tensor(const std::string& name) const {
  for (const ParamTensor& t : model_.layout().tensors())
    if (t.name == name) return t.offset;
  EF_THROW("device backend: no parameter tensor named \"", name, "\"");
}

template <class Exec>
typename DeviceBackend<Exec>::Mlp DeviceBackend<Exec>::make_mlp(const MaskedMLP<float>& m,
                                                                Activation act) {
  Mlp d;
  d.sizes = m.sizes();
  d.act = device_detail::to_act(act);
  for (int l = 0; l < m.num_layers(); ++l) {
    d.w_off.push_back(m.weight_offset(l));
    d.b_off.push_back(m.bias_offset(l));
    const auto& mk = m.mask(l);
    const bool ones = std::all_of(mk.begin(), mk.end(), [](float v) { return v == 1.f; });
    d.mask.push_back(ones ? nullptr : upload_fixed(mk));
  }
  d.h.assign(size_t(d.L()), nullptr);
  d.na = d.sizes.front();
  max_L_ = std::max(max_L_, d.L());
  for (int l = 1; l < d.L(); ++l) max_h_ = std::max(max_h_, d.sizes[size_t(l)]);
  max_out_ = std::max(max_out_, d.sizes.back());
  return d;
}

template <class Exec>
void DeviceBackend<Exec>::gather_input(Mlp& m, int na, const CtxItems& items) {
  if (m.sizes.front() <= ops::kFusedMaxWidth || items.grp.empty()) return;
  m.na = na;
  m.ctx_n = int(items.grp.size());
  m.ctx_grp = upload_fixed(items.grp);
  m.ctx_col = upload_fixed(items.col);
  m.ctx_dim = upload_fixed(items.dim);
}

template <class Exec>
void DeviceBackend<Exec>::add_feature_items(CtxItems& items, int n, int c0) const {
  for (int j = 0; j < n; ++j) {
    const int g = feat_grp_h_[size_t(j)], v = feat_val_h_[size_t(j)];
    if (g < 0)
      items.add(-1, c0 + j, v);
    else if (v == 0)  // a group's levels are consecutive columns from level 0
      items.add(g, c0 + j, 0);
  }
}

// The device plan of part p: the same layers, masks, permutations and offsets the CPU model
// built from the spec (its constructor's loop is walked again, and each layer's name checked).
template <class Exec>
void DeviceBackend<Exec>::build_part(int p) {
  const TabularSpec& spec = model_.spec();
  PartDev& P = parts_[p];
  for (int q = 0; q < p; ++q) {
    P.go += int(spec.parts[q].levels.size());
    P.dof += spec.parts[q].dims;
    P.fo += parts_[q].Wp + spec.parts[q].dims;
  }
  P.Gp = int(spec.parts[p].levels.size());
  P.Dp = spec.parts[p].dims;
  if (const CategoricalMade<float>* cat = model_.cat(p)) {
    P.has_cat = true;
    P.Wp = cat->width();
    P.off = cat->offsets();
    P.lev = cat->levels();
    std::vector<int> grp, lvl;
    for (int g = 0; g < P.Gp; ++g)
      for (int k = 0; k < P.lev[g]; ++k) {
        grp.push_back(P.go + g);
        lvl.push_back(k);
      }
    P.d_off = upload_fixed(P.off);
    P.d_lev = upload_fixed(P.lev);
    P.d_grp = upload_fixed(grp);
    P.d_lvl = upload_fixed(lvl);
    P.cat_mlp = make_mlp(cat->mlp(), spec.flow.activation);
    // Input [onehot(own codes) (Wp) | features of the parts before (fo)]: all gatherable.
    CtxItems items;
    for (int g = 0; g < P.Gp; ++g) items.add(P.go + g, P.off[size_t(g)], 0);
    add_feature_items(items, P.fo, P.Wp);
    gather_input(P.cat_mlp, 0, items);
  }
  max_D_ = std::max(max_D_, P.Dp);
  const Flow<float>* flow = model_.flow(p);
  if (!flow) return;
  P.has_flow = true;
  const FlowSpec& fs = flow->spec();
  const std::string prefix = "part" + std::to_string(p) + ".flow";
  const int K = fs.bins, Psp = math::spline_num_params(fs.bins);
  size_t li = 0;
  auto next = [&](const char* want) -> const Layer<float>& {
    EF_CHECK(li < flow->num_layers() && flow->layer(li).name() == want,
             "device backend: layer ", li, " of part ", p, " is not the expected ", want);
    return flow->layer(li++);
  };
  for (int l = 0; l < fs.layers; ++l) {
    const std::string lp = prefix + ".layer" + std::to_string(l);
    if (fs.actnorm) {
      next("actnorm");
      LayerDev L;
      L.kind = Kind::ActNorm;
      L.D = fs.dim;
      L.logs = find_tensor(lp + ".actnorm.logs");
      L.bias = find_tensor(lp + ".actnorm.bias");
      P.layers.push_back(std::move(L));
    }
    LayerDev L;
    L.D = fs.dim;
    L.C = fs.context;
    L.clamp = float(fs.clamp);
    L.K = K;
    L.bound = float(fs.tail_bound);
    // The registry entry of this layer's kind: the CPU layer to expect, its structure and
    // transform, and so the conditioner's shape (per transformed dim: 2 affine outputs, or P
    // spline parameters).
    const FlowKindInfo& info = flow_kind_info(layer_kind(fs, l));
    const Layer<float>* layer = &next(info.layer_name);
    L.transform = info.transform;
    const int per_dim = info.spline() ? Psp : 2;
    if (info.autoregressive()) {
      L.kind = Kind::Autoregressive;
      L.W = L.D + L.C;
      L.nout = L.D * per_dim;
    } else {
      L.kind = Kind::Coupling;
      const CouplingSplit split(coupling_mask(fs, l), fs.context);
      L.nt = int(split.trans.size());
      L.nP = int(split.pass.size());
      L.W = split.width();
      L.nout = L.nt * per_dim;
      if (L.nt) L.tr = upload_fixed(split.trans);
      if (L.nP) L.pass = upload_fixed(split.pass);
    }
    if (const MadeIncremental<float>* inc = layer->made_incremental()) {
      EF_CHECK(inc->groups() == L.D, "device backend: part ", p, " layer ", l, " has ",
               inc->groups(), " autoregressive groups for ", L.D, " dimensions");
      L.inc_first = inc->first();
      L.inc_runs = inc->out_runs();
    }
    if (const MaskedMLP<float>* m = layer->conditioner()) {
      EF_CHECK(m->in_size() == L.W && m->out_size() == L.nout,
               "device backend: conditioner of part ", p, " layer ", l, " has shape ",
               m->in_size(), " -> ", m->out_size(), ", expected ", L.W, " -> ", L.nout);
      L.has_mlp = true;
      L.mlp = make_mlp(*m, fs.activation);
      // Input [x (D) or pass columns (nP) | context: feature columns [0, C)].
      const int na = L.W - L.C;
      CtxItems items;
      add_feature_items(items, L.C, na);
      gather_input(L.mlp, na, items);
      max_in_ = std::max(max_in_, L.mlp.na);
    }
    P.layers.push_back(std::move(L));
    if (l + 1 < fs.layers && fs.permutation != Permutation::None && fs.dim > 1) {
      next("permutation");
      LayerDev Lp;
      Lp.kind = Kind::Perm;
      Lp.D = fs.dim;
      Lp.perm = upload_fixed(layer_permutation(fs, l));
      P.layers.push_back(std::move(Lp));
    }
  }
  EF_CHECK(li == flow->num_layers(), "device backend: part ", p, " has ", flow->num_layers(),
           " layers, the device plan ", li);
  P.acts.assign(P.layers.size() + 1, nullptr);
}

template <class Exec>
void DeviceBackend<Exec>::reserve(int cap) {
  acts_.clear();
  exec_.reset_graph(graph_);
  cap_ = 0;  // until every buffer below exists: a throw leaves the next ensure() to start over
  const size_t c = size_t(cap);
  auto mlp_acts = [&](Mlp& m) {
    for (int l = 1; l < m.L(); ++l) m.h[l] = alloc<float>(acts_, c * m.sizes[l]);
  };
  codes_ = alloc<int>(acts_, c * G_);
  u_ = alloc<float>(acts_, c * D_);
  F_ = alloc<float>(acts_, c * Fw_);
  logp_ = alloc<float>(acts_, c);
  dlogp_ = alloc<float>(acts_, c);
  dlogdet_ = alloc<float>(acts_, c);
  for (PartDev& P : parts_) {
    if (P.has_cat) {
      if (!P.cat_mlp.ctx_n) P.cat_in = alloc<float>(acts_, c * (P.Wp + P.fo));
      P.logits = alloc<float>(acts_, c * P.Wp);
      mlp_acts(P.cat_mlp);
    }
    if (!P.has_flow) continue;
    for (float*& a : P.acts) a = alloc<float>(acts_, c * P.Dp);
    P.logdet = alloc<float>(acts_, c);
    for (LayerDev& L : P.layers) {
      if (!L.has_mlp) continue;
      const int w_in = gathered(L) ? (L.kind == Kind::Coupling ? L.nP : 0) : L.W;
      if (w_in) L.in = alloc<float>(acts_, c * w_in);
      L.out = alloc<float>(acts_, c * L.nout);
      mlp_acts(L.mlp);
    }
  }
  s0_ = alloc<float>(acts_, c * max_h_);
  s1_ = alloc<float>(acts_, c * max_h_);
  dout_ = alloc<float>(acts_, c * max_out_);
  din_ = alloc<float>(acts_, c * max_in_);
  dcur_ = alloc<float>(acts_, c * max_D_);
  dnext_ = alloc<float>(acts_, c * max_D_);
  zbuf_ = alloc<float>(acts_, c * max_D_);
  xbuf_ = alloc<float>(acts_, c * max_D_);
  fused_dz_.assign(size_t(std::max(max_L_ - 1, 0)), nullptr);
  for (float*& p : fused_dz_) p = alloc<float>(acts_, c * max_h_);
  exec_.reserve(cap, std::max(max_h_, max_out_));  // bias gradients: every layer's outputs
  cap_ = cap;
}

// ---- parameters ----

template <class Exec>
void DeviceBackend<Exec>::init_params() {
  std::vector<float> P(n_);
  model_.init(P.data());
  set_params(P);
}

template <class Exec>
void DeviceBackend<Exec>::init_from_data(const int* codes, const float* u, int N) {
  std::vector<float> P = get_params();
  model_.init_from_data(P.data(), codes, u, N, host_ws_);
  set_params(P);
}

template <class Exec>
void DeviceBackend<Exec>::set_params(const std::vector<float>& p) {
  EF_CHECK(p.size() == n_, "parameter count mismatch: ", p.size(), " vs ", n_);
  exec_.upload(params_, p.data(), n_ * sizeof(float));
}

// ---- conditioner MLP (engine/masked_mlp.cpp) ----

template <class Exec>
bool DeviceBackend<Exec>::fusable(const Mlp& m) const {
  return fused_on_ && !m.ctx_n && m.L() >= 1 && m.L() <= ops::kFusedMaxLayers &&
         *std::max_element(m.sizes.begin(), m.sizes.end()) <= ops::kFusedMaxWidth;
}

template <class Exec>
ops::FusedMlp DeviceBackend<Exec>::fused_desc(const Mlp& m) const {
  ops::FusedMlp d;
  d.L = m.L();
  d.act = m.act;
  for (int l = 0; l <= d.L; ++l) {
    d.sizes[l] = m.sizes[size_t(l)];
    d.max_width = std::max(d.max_width, d.sizes[l]);
  }
  for (int l = 0; l < d.L; ++l) {
    d.W[l] = params_ + m.w_off[size_t(l)];
    d.b[l] = params_ + m.b_off[size_t(l)];
    if (l > 0) d.h[l] = m.h[size_t(l)];
  }
  return d;
}

template <class Exec>
void DeviceBackend<Exec>::mlp_forward(const Mlp& m, const float* X, int ldx, int B, float* Y) {
  if (fusable(m)) {  // a packed input: ldx == sizes[0]
    exec_.fused_mlp_forward(fused_desc(m), X, B, Y);
    return;
  }
  for (int l = 0; l < m.L(); ++l) {
    const int nin = m.sizes[l], nout = m.sizes[l + 1];
    const bool last = l == m.L() - 1;
    const float* in = l == 0 ? X : m.h[l];
    const int k = l == 0 ? m.na : nin, ld = l == 0 ? ldx : nin;
    float* out = last ? Y : m.h[l + 1];
    const float* W = params_ + m.w_off[l];
    exec_.for_each(size_t(B) * nout, ops::BiasRows{out, params_ + m.b_off[l], nout});
    if (k > 0) exec_.gemm(false, true, B, nout, k, 1.f, in, ld, W, nin, 1.f, out, nout);
    if (l == 0 && m.ctx_n)
      exec_.for_each(size_t(B) * nout, ops::CtxForward{ctx_input(m), W, nin, out, nout, 0, nout});
    if (!last) exec_.for_each(size_t(B) * nout, ops::Activate{out, m.act});
  }
}

// grads += dL/dparams; dX (B, in) = dL/dX (null skips). dY is not modified.
template <class Exec>
void DeviceBackend<Exec>::mlp_backward(const Mlp& m, const float* X, int ldx, const float* dY,
                                       int B, float* dX) {
  if (fusable(m)) {
    // dZ of every layer and dX in one pass over each tile, then the weight gradients over the
    // whole batch as GEMMs (a reduction over rows: a tile kernel would need atomics).
    float* dz[ops::kFusedMaxLayers] = {};
    for (int l = 0; l + 1 < m.L(); ++l) dz[l] = fused_dz_[size_t(l)];
    exec_.fused_mlp_backward(fused_desc(m), dY, dz, dX, B);
    for (int l = m.L() - 1; l >= 0; --l) {
      const int nin = m.sizes[l], nout = m.sizes[l + 1];
      const float* d = l == m.L() - 1 ? dY : dz[l];
      const float* in = l == 0 ? X : m.h[l];
      float* gW = grads_ + m.w_off[l];
      exec_.gemm(true, false, nout, nin, B, 1.f, d, nout, in, nin, 1.f, gW, nin);
      if (m.mask[l]) exec_.for_each(size_t(nout) * nin, ops::MaskMul{gW, m.mask[l]});
      exec_.colsum_add(d, B, nout, grads_ + m.b_off[l]);
    }
    return;
  }
  const float* cur = dY;
  for (int l = m.L() - 1; l >= 0; --l) {
    const int nin = m.sizes[l], nout = m.sizes[l + 1];
    const float* in = l == 0 ? X : m.h[l];
    // Layer 0: the dense columns [0, na) by GEMM, the gathered ones by scatter (ctx_ops.hpp).
    const int k = l == 0 ? m.na : nin, ld = l == 0 ? ldx : nin;
    float* gW = grads_ + m.w_off[l];
    if (k > 0) exec_.gemm(true, false, nout, k, B, 1.f, cur, nout, in, ld, 1.f, gW, nin);
    if (l == 0 && m.ctx_n)
      exec_.for_each(size_t(nout) * m.ctx_n,
                     ops::CtxWeightGrad{ctx_input(m), cur, nout, B, gW, nin});
    if (m.mask[l]) exec_.for_each(size_t(nout) * nin, ops::MaskMul{gW, m.mask[l]});
    exec_.colsum_add(cur, B, nout, grads_ + m.b_off[l]);
    if (l == 0 && (!dX || k == 0)) break;
    float* din = l == 0 ? dX : (cur == s0_ ? s1_ : s0_);
    exec_.gemm(false, false, B, k, nout, 1.f, cur, nout, params_ + m.w_off[l], nin, 0.f, din, k);
    if (l > 0) exec_.for_each(size_t(B) * nin, ops::ActBackward{din, in, m.act});
    cur = din;
  }
}

// ---- flow layers ----

// The dense part of L's first-layer input from x: [x or pass columns | context] packed, or for
// a gathered layer (context wider than kFusedMaxWidth) the pass columns only; an
// autoregressive gathered layer reads x itself.
template <class Exec>
void DeviceBackend<Exec>::pack_layer_input(LayerDev& L, const float* x, int B) {
  const int nx = L.kind == Kind::Coupling ? L.nP : L.D;
  const int* idx = L.kind == Kind::Coupling ? L.pass : nullptr;
  if (!gathered(L))
    exec_.for_each(size_t(B) * L.W, ops::PackInput{x, L.D, idx, nx, F_, Fw_, L.C, L.in, L.W});
  else if (L.kind == Kind::Coupling && L.nP)
    exec_.for_each(size_t(B) * L.nP, ops::PackInput{x, L.D, idx, nx, nullptr, 0, 0, L.in, L.nP});
}

// The categorical MADE's logits of part P from the current codes_ (and F_ / u_ for the parts
// before): packed into cat_in when the input is narrow, else gathered.
template <class Exec>
void DeviceBackend<Exec>::cat_logits(PartDev& P, int B) {
  if (!P.cat_mlp.ctx_n)
    exec_.for_each(size_t(B) * (P.Wp + P.fo), ops::CatPack{codes_, G_, P.d_grp, P.d_lvl, P.Wp,
                                                           F_, Fw_, P.fo, P.cat_in});
  mlp_forward(P.cat_mlp, P.cat_in, P.cat_mlp.na, B, P.logits);
}

template <class Exec>
void DeviceBackend<Exec>::layer_forward(LayerDev& L, const float* x, int B, float* z,
                                        float* logdet) {
  const size_t BD = size_t(B) * L.D;
  switch (L.kind) {
    case Kind::Autoregressive:
      pack_layer_input(L, x, B);
      mlp_forward(L.mlp, layer_in(L, x), layer_ld(L), B, L.out);
      switch (L.transform) {
        case FlowTransform::Affine:
          exec_.for_each(size_t(B), ops::MafForward{x, L.out, L.D, L.clamp, z, logdet});
          break;
        case FlowTransform::Spline:
          exec_.for_each(size_t(B), ops::SplineForward{x, L.out, nullptr, L.D, L.D, L.K, L.bound,
                                                       z, logdet});
          break;
      }
      break;
    case Kind::Coupling:
      exec_.copy(z, x, BD * sizeof(float));  // pass-through dims
      if (!L.nt) break;
      pack_layer_input(L, x, B);
      mlp_forward(L.mlp, layer_in(L, x), layer_ld(L), B, L.out);
      switch (L.transform) {
        case FlowTransform::Affine:
          exec_.for_each(size_t(B), ops::CouplingForward{x, L.out, L.tr, L.nt, L.D, L.clamp, z,
                                                         logdet});
          break;
        case FlowTransform::Spline:
          exec_.for_each(size_t(B), ops::SplineForward{x, L.out, L.tr, L.nt, L.D, L.K, L.bound,
                                                       z, logdet});
          break;
      }
      break;
    case Kind::ActNorm:
      exec_.for_each(size_t(B), ops::ActNormForward{x, params_ + L.logs, params_ + L.bias, L.D,
                                                    z, logdet});
      break;
    case Kind::Perm:
      exec_.for_each(BD, ops::Permute{x, L.perm, L.D, z});
      break;
  }
}

// dx (B, D) = dL/dx, overwritten; grads += dL/dparams. x is the layer's forward input.
template <class Exec>
void DeviceBackend<Exec>::layer_backward(LayerDev& L, const float* x, const float* dz,
                                         const float* dlogdet, int B, float* dx) {
  const size_t BD = size_t(B) * L.D;
  switch (L.kind) {
    case Kind::Autoregressive:
      switch (L.transform) {
        case FlowTransform::Affine:
          exec_.for_each(BD, ops::MafBackward{x, L.D, L.out, dz, dlogdet, L.D, L.clamp, dout_,
                                              dx});
          break;
        case FlowTransform::Spline:
          exec_.for_each(BD, ops::SplineBackward{x, L.out, nullptr, L.D, L.D, L.K, L.bound, dz,
                                                 dlogdet, dout_, dx});
          break;
      }
      mlp_backward(L.mlp, layer_in(L, x), layer_ld(L), dout_, B, din_);
      exec_.for_each(BD, ops::UnpackGrad{din_, L.mlp.na, nullptr, L.D, dx, L.D});
      break;
    case Kind::Coupling:
      exec_.copy(dx, dz, BD * sizeof(float));  // pass-through dims' direct path
      if (!L.nt) break;
      switch (L.transform) {
        case FlowTransform::Affine:
          exec_.for_each(size_t(B) * L.nt, ops::CouplingBackward{x, L.out, L.tr, L.nt, L.D,
                                                                 L.clamp, dz, dlogdet, dout_, dx});
          break;
        case FlowTransform::Spline:
          exec_.for_each(size_t(B) * L.nt, ops::SplineBackward{x, L.out, L.tr, L.nt, L.D, L.K,
                                                               L.bound, dz, dlogdet, dout_, dx});
          break;
      }
      mlp_backward(L.mlp, layer_in(L, x), layer_ld(L), dout_, B, L.nP ? din_ : nullptr);
      if (L.nP)
        exec_.for_each(size_t(B) * L.nP,
                       ops::UnpackGrad{din_, L.mlp.na, L.pass, L.nP, dx, L.D});
      break;
    case Kind::ActNorm:
      exec_.for_each(size_t(L.D), ops::ActNormBackwardParams{x, dz, dlogdet, params_ + L.logs,
                                                             B, L.D, grads_ + L.logs,
                                                             grads_ + L.bias});
      exec_.for_each(BD, ops::ActNormBackwardX{dz, params_ + L.logs, L.D, dx});
      break;
    case Kind::Perm:
      exec_.for_each(BD, ops::Unpermute{dz, L.perm, L.D, dx});
      break;
  }
}

template <class Exec>
void DeviceBackend<Exec>::dense_block(const Mlp& m, int w, const float* in, int ld_in, int k,
                                      int B, int u0, int u1, float* out, int ld_out,
                                      bool activate) {
  const int nin = m.sizes[size_t(w)], nu = u1 - u0;
  if (nu <= 0) return;
  exec_.for_each(size_t(B) * nu, ops::BiasBlock{out, params_ + m.b_off[size_t(w)], ld_out, u0, nu});
  // Masked weights are zero in the flat buffer, so the prefix k holds every nonzero term. A
  // gathered first layer: in holds columns [0, na), the context items add the rest.
  const float* W = params_ + m.w_off[size_t(w)];
  if (w == 0) k = std::min(k, m.na);
  if (k > 0)
    exec_.gemm(false, true, B, nu, k, 1.f, in, ld_in, W + size_t(u0) * nin, nin, 1.f, out + u0,
               ld_out);
  if (w == 0 && m.ctx_n)
    exec_.for_each(size_t(B) * nu, ops::CtxForward{ctx_input(m), W, nin, out, ld_out, u0, nu});
  if (activate) exec_.for_each(size_t(B) * nu, ops::ActivateBlock{out, ld_out, u0, nu, m.act});
}

// The device twin of MadeIncremental::step: hidden layer l's units of degree g - 1 read the
// input whole (l = 1) or the prefix of degree <= g - 1 below; then the outputs of degree g.
template <class Exec>
void DeviceBackend<Exec>::made_pass(LayerDev& L, const float* x, int B, int g) {
  const Mlp& m = L.mlp;
  const int Lm = m.L();
  const float* in0 = layer_in(L, x);
  for (int l = 1; l < Lm; ++l) {
    const int u0 = L.inc_first[size_t(l)][size_t(g - 1)], u1 = L.inc_first[size_t(l)][size_t(g)];
    const float* in = l == 1 ? in0 : m.h[size_t(l - 1)];
    const int k = l == 1 ? m.sizes[0] : L.inc_first[size_t(l - 1)][size_t(g)];
    dense_block(m, l - 1, in, l == 1 ? layer_ld(L) : m.sizes[size_t(l - 1)], k, B, u0, u1,
                m.h[size_t(l)], m.sizes[size_t(l)], true);
  }
  const int k = Lm >= 2 ? L.inc_first[size_t(Lm - 1)][size_t(g)] : m.sizes[0];
  const float* in = Lm >= 2 ? m.h[size_t(Lm - 1)] : in0;
  const int ld = Lm >= 2 ? m.sizes[size_t(Lm - 1)] : layer_ld(L);
  for (const auto& [a, b] : L.inc_runs[size_t(g)])
    dense_block(m, Lm - 1, in, ld, k, B, a, b, L.out, L.nout, false);
}

template <class Exec>
void DeviceBackend<Exec>::layer_inverse(LayerDev& L, const float* z, int B, float* x) {
  const size_t BD = size_t(B) * L.D;
  switch (L.kind) {
    case Kind::Autoregressive:
      // After pass i every x_j of degree <= i + 1 is exact: it only reads x_<j.
      fill(x, BD, 0.f);
      if (fusable(L.mlp) && L.D <= kFusedArMaxDim) {
        // Small D: all D passes in one fused kernel per tile (activations on chip).
        pack_layer_input(L, x, B);  // fusable: packed, at most kFusedMaxWidth wide
        switch (L.transform) {
          case FlowTransform::Affine:
            exec_.fused_ar_inverse(fused_desc(L.mlp), L.in, B, L.out,
                                   ops::MafInverseStep{z, L.out, L.D, 0, L.clamp, x});
            break;
          case FlowTransform::Spline:
            exec_.fused_ar_inverse(fused_desc(L.mlp), L.in, B, L.out,
                                   ops::SplineInverseStep{z, L.out, L.D, 0, L.K, L.bound, x});
            break;
        }
        break;
      }
      // Otherwise pass i computes only the conditioner units of degree i (and the outputs of
      // degree i + 1): made_pass, one network's work over all passes instead of D networks'.
      for (int i = 0; i < L.D; ++i) {
        pack_layer_input(L, x, B);
        if (L.inc_first.empty())
          mlp_forward(L.mlp, layer_in(L, x), layer_ld(L), B, L.out);
        else
          made_pass(L, x, B, i + 1);
        switch (L.transform) {
          case FlowTransform::Affine:
            exec_.for_each(size_t(B), ops::MafInverseStep{z, L.out, L.D, i, L.clamp, x});
            break;
          case FlowTransform::Spline:
            exec_.for_each(size_t(B),
                           ops::SplineInverseStep{z, L.out, L.D, i, L.K, L.bound, x});
            break;
        }
      }
      break;
    case Kind::Coupling:
      exec_.copy(x, z, BD * sizeof(float));
      if (!L.nt) break;
      // The conditioner reads the pass-through half, which z carries unchanged.
      pack_layer_input(L, z, B);
      mlp_forward(L.mlp, layer_in(L, z), layer_ld(L), B, L.out);
      switch (L.transform) {
        case FlowTransform::Affine:
          exec_.for_each(size_t(B) * L.nt,
                         ops::CouplingInverse{z, L.out, L.tr, L.nt, L.D, L.clamp, x});
          break;
        case FlowTransform::Spline:
          exec_.for_each(size_t(B) * L.nt,
                         ops::SplineInverse{z, L.out, L.tr, L.nt, L.D, L.K, L.bound, x});
          break;
      }
      break;
    case Kind::ActNorm:
      exec_.for_each(BD, ops::ActNormInverse{z, params_ + L.logs, params_ + L.bias, L.D, x});
      break;
    case Kind::Perm:
      exec_.for_each(BD, ops::Unpermute{z, L.perm, L.D, x});
      break;
  }
}

// ---- the model (engine/tabular_model.cpp) ----

template <class Exec>
void DeviceBackend<Exec>::write_features(int B, int j0, int n) {
  if (n > 0)
    exec_.for_each(size_t(B) * n, ops::WriteFeatures{codes_, G_, u_, D_, feat_grp_, feat_val_,
                                                     F_, Fw_, j0, n});
}

template <class Exec>
void DeviceBackend<Exec>::forward_device(int B) {
  write_features(B, 0, Fw_);
  fill(logp_, size_t(B), 0.f);
  for (PartDev& P : parts_) {
    if (P.has_cat) {
      cat_logits(P, B);
      exec_.for_each(size_t(B), ops::CatLogProb{P.logits, P.Wp, P.d_off, P.d_lev, P.Gp, codes_,
                                                G_, P.go, logp_});
    }
    if (P.has_flow) {
      exec_.for_each(size_t(B) * P.Dp,
                     ops::PackInput{u_ + P.dof, D_, nullptr, P.Dp, nullptr, 0, 0, P.acts[0], P.Dp});
      fill(P.logdet, size_t(B), 0.f);
      for (size_t i = 0; i < P.layers.size(); ++i)
        layer_forward(P.layers[i], P.acts[i], B, P.acts[i + 1], P.logdet);
      exec_.for_each(size_t(B), ops::BaseLogProb{P.acts.back(), P.logdet, P.Dp, logp_});
    }
  }
  exec_.mean(logp_, B, loss_);
}

template <class Exec>
void DeviceBackend<Exec>::backward_device(int B) {
  fill(grads_, n_, 0.f);
  fill(dlogp_, size_t(B), -1.f / float(B));  // loss = -mean log p
  for (PartDev& P : parts_) {
    if (P.has_cat) {
      exec_.for_each(size_t(B), ops::CatBackward{P.logits, P.Wp, P.d_off, P.d_lev, P.Gp, codes_,
                                                 G_, P.go, dlogp_, dout_});
      mlp_backward(P.cat_mlp, P.cat_in, P.cat_mlp.na, dout_, B, nullptr);
    }
    if (P.has_flow) {
      // Base: d log N(z)/dz = -z; every layer's log-det enters log p with weight 1.
      exec_.for_each(size_t(B) * P.Dp, ops::BaseBackward{P.acts.back(), dlogp_, P.Dp, dcur_});
      exec_.copy(dlogdet_, dlogp_, size_t(B) * sizeof(float));
      float *cur = dcur_, *nxt = dnext_;
      for (size_t k = P.layers.size(); k-- > 0;) {
        layer_backward(P.layers[k], P.acts[k], cur, dlogdet_, B, nxt);
        std::swap(cur, nxt);
      }
    }
  }
}

template <class Exec>
double DeviceBackend<Exec>::forward(const int* codes, const float* u, int B) {
  EF_CHECK(B >= 1, "forward needs at least one row (got ", B, ")");
  ensure(B);
  exec_.upload(codes_, codes, size_t(B) * G_ * sizeof(int));
  exec_.upload(u_, u, size_t(B) * D_ * sizeof(float));
  forward_device(B);
  last_B_ = B;
  double mean = 0;
  exec_.download(&mean, loss_, sizeof(double));
  return mean;
}

template <class Exec>
void DeviceBackend<Exec>::backward() {
  EF_CHECK(last_B_ > 0, "backward without forward");
  backward_device(last_B_);
}

template <class Exec>
void DeviceBackend<Exec>::upload_lr(float lr) {
  if (lr == lr_on_device_) return;
  exec_.upload(&adam_->lr, &lr, sizeof(float));  // address arithmetic only, no dereference
  lr_on_device_ = lr;
}

template <class Exec>
void DeviceBackend<Exec>::adam_device(const AdamConfig& cfg) {
  exec_.for_each(1, ops::AdamAdvance{adam_, cfg.beta1, cfg.beta2});
  for (const AdamSegment& r : adam_segments(cfg, n_))  // one run unless cfg.decay_only is set
    exec_.for_each(r.end - r.begin, ops::AdamUpdate{params_ + r.begin, grads_ + r.begin, m_ + r.begin,
                                                    v_ + r.begin, adam_, float(cfg.beta1), float(cfg.beta2),
                                                    float(cfg.eps), float(r.weight_decay)});
}

template <class Exec>
void DeviceBackend<Exec>::adam_step(const AdamConfig& cfg) {
  upload_lr(float(cfg.lr));
  adam_device(cfg);
  ++step_;
}

template <class Exec>
void DeviceBackend<Exec>::reset_optimizer() {
  fill(m_, n_, 0.f);
  fill(v_, n_, 0.f);
  const ops::AdamState s{0.0, 0.f, 1.f, 1.f};
  exec_.upload(adam_, &s, sizeof(s));
  lr_on_device_ = 0.f;
  step_ = 0;
}

template <class Exec>
void DeviceBackend<Exec>::score(const int* codes, const float* u, int B, float* logp) {
  const int chunk = std::min(B, device_detail::kChunkRows);
  if (chunk > 0) ensure(chunk);
  for (int s = 0; s < B; s += chunk) {
    const int b = std::min(chunk, B - s);
    exec_.upload(codes_, codes + size_t(s) * G_, size_t(b) * G_ * sizeof(int));
    exec_.upload(u_, u + size_t(s) * D_, size_t(b) * D_ * sizeof(float));
    forward_device(b);
    exec_.download(logp + s, logp_, size_t(b) * sizeof(float));
  }
  last_B_ = 0;  // the activations are the score's now: a backward needs a new forward
}

template <class Exec>
void DeviceBackend<Exec>::sample_device(int B, uint64_t seed, uint64_t row_offset) {
  fill(codes_, size_t(B) * G_, -1);
  fill(u_, size_t(B) * D_, 0.f);
  fill(F_, size_t(B) * Fw_, 0.f);
  for (int p = 0; p < int(parts_.size()); ++p) {
    PartDev& P = parts_[p];
    if (P.has_cat) {
      // One group at a time: group g's logits read the one-hot of the groups drawn before it.
      for (int g = 0; g < P.Gp; ++g) {
        cat_logits(P, B);
        exec_.for_each(size_t(B), ops::CatSampleGroup{P.logits, P.Wp, P.off[g], P.lev[g], codes_,
                                                      G_, P.go, P.Gp, g, seed,
                                                      100 + uint64_t(p), row_offset});
      }
    }
    write_features(B, P.fo, P.Wp + P.Dp);
    if (!P.has_flow) continue;
    exec_.for_each(size_t(B) * P.Dp,
                   ops::FillNormal{zbuf_, seed, 200 + uint64_t(p), row_offset * uint64_t(P.Dp)});
    float *cur = zbuf_, *nxt = xbuf_;
    for (size_t k = P.layers.size(); k-- > 0;) {
      layer_inverse(P.layers[k], cur, B, nxt);
      std::swap(cur, nxt);
    }
    exec_.for_each(size_t(B) * P.Dp, ops::ScatterCols{cur, P.Dp, u_, D_, P.dof, P.Dp});
    write_features(B, P.fo, P.Wp + P.Dp);
  }
}

template <class Exec>
void DeviceBackend<Exec>::sample(int n, uint64_t seed, uint64_t row_offset,
                                 const Given<float>* given, int* codes, float* u,
                                 SampleInfo* info) {
  bool any_given = false;
  for (int p = 0; given && p < model_.spec().c_parts; ++p) any_given |= given->fixed[p] != 0;
  if (any_given) {
    // Conditional sampling (enumeration / importance resampling over combinations) runs the
    // CPU model on the device's parameters: it is a one-off per request, not a training cost.
    const std::vector<float> P = get_params();
    model_.sample(P.data(), n, seed, row_offset, given, codes, u, host_ws_, info);
    return;
  }
  if (info) *info = SampleInfo();
  const int chunk = std::min(n, device_detail::kChunkRows);
  if (chunk > 0) ensure(chunk);
  for (int s = 0; s < n; s += chunk) {
    const int b = std::min(chunk, n - s);
    // Row r of this chunk is row row_offset + s + r of the whole draw: the same counters.
    sample_device(b, seed, row_offset + uint64_t(s));
    exec_.download(codes + size_t(s) * G_, codes_, size_t(b) * G_ * sizeof(int));
    exec_.download(u + size_t(s) * D_, u_, size_t(b) * D_ * sizeof(float));
  }
  last_B_ = 0;
}

// ---- resident training ----

template <class Exec>
void DeviceBackend<Exec>::upload_dataset(const int* codes, const float* u, int N) {
  EF_CHECK(N >= 1, "upload_dataset needs at least one row (got ", N, ")");
  free_data();
  data_codes_ = alloc<int>(data_, size_t(N) * G_);
  data_u_ = alloc<float>(data_, size_t(N) * D_);
  exec_.upload(data_codes_, codes, size_t(N) * G_ * sizeof(int));
  exec_.upload(data_u_, u, size_t(N) * D_ * sizeof(float));
  keys_ = alloc<uint64_t>(data_, size_t(N));
  keys_sorted_ = alloc<uint64_t>(data_, size_t(N));
  vals_ = alloc<int>(data_, size_t(N));
  perm_ = alloc<int>(data_, size_t(N));
  exec_.for_each(size_t(N), ops::ShuffleKeys{keys_, perm_, 0, 0});  // identity order
  n_rows_ = N;  // only now: a throw above leaves no resident rows
  const int zero = 0;
  exec_.upload(start_, &zero, sizeof(int));
  host_start_ = 0;
}

template <class Exec>
void DeviceBackend<Exec>::shuffle_epoch(uint64_t seed, uint64_t epoch) {
  EF_CHECK(n_rows_ > 0 && !streaming_, "shuffle_epoch without a resident dataset");
  exec_.for_each(size_t(n_rows_), ops::ShuffleKeys{keys_, vals_, seed, kShuffleStreamBase + epoch});
  exec_.sort_pairs(keys_, vals_, keys_sorted_, perm_, n_rows_);
  const int zero = 0;
  exec_.upload(start_, &zero, sizeof(int));
  host_start_ = 0;
}

template <class Exec>
std::vector<int> DeviceBackend<Exec>::permutation() const {
  std::vector<int> p(static_cast<size_t>(n_rows_));
  exec_.download(p.data(), perm_, p.size() * sizeof(int));
  return p;
}

template <class Exec>
std::vector<int> DeviceBackend<Exec>::permutation_rows(int begin, int end) const {
  EF_CHECK(0 <= begin && begin <= end && end <= n_rows_, "permutation_rows: [", begin, ", ", end,
           ") is outside the ", n_rows_, " resident rows");
  std::vector<int> p(static_cast<size_t>(end - begin));
  exec_.download(p.data(), perm_ + begin, p.size() * sizeof(int));
  return p;
}

template <class Exec>
void DeviceBackend<Exec>::set_loss_ring(int K) {
  EF_CHECK(K >= 1, "loss ring needs at least one slot (got ", K, ")");
  EF_CHECK(steps_run_ == steps_read_, "set_loss_ring with unread losses");
  ring_ = alloc<double>(fixed_, size_t(K));  // the old ring stays in the pool until teardown
  ring_K_ = K;
  exec_.reset_graph(graph_);
}

template <class Exec>
void DeviceBackend<Exec>::set_data_parallel(DeviceGradSum* sum, int rank, int ranks) {
  EF_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "set_data_parallel: rank ", rank, " of ", ranks);
  EF_CHECK(sum || ranks == 1, "set_data_parallel: ", ranks, " ranks need a gradient sum");
  grad_sum_ = sum;
  dp_rank_ = rank;
  dp_ranks_ = ranks;
  exec_.reset_graph(graph_);  // a captured step holds the old sum (or none)
}

template <class Exec>
void DeviceBackend<Exec>::resident_step(int B, const AdamConfig& cfg, bool use_graph) {
  EF_CHECK(B >= dp_ranks_, "resident_step: a batch of ", B, " rows over ", dp_ranks_, " ranks");
  const BatchSlice sl = grad_sum_ ? batch_slice(B, dp_rank_, dp_ranks_) : BatchSlice{0, B};
  train_step(sl.rows, sl.first, B, float(double(sl.rows) / double(B)), cfg, use_graph);
}

template <class Exec>
void DeviceBackend<Exec>::train_step(int rows, int first, int advance, float share,
                                     const AdamConfig& cfg, bool use_graph) {
  EF_CHECK(n_rows_ > 0, "resident_step before upload_dataset");
  EF_CHECK(rows >= 1 && host_start_ + advance <= n_rows_, "resident_step: batch [", host_start_,
           ", ", host_start_ + advance, ") is outside the ", n_rows_, " resident rows");
  EF_CHECK(steps_run_ - steps_read_ < ring_K_, "resident_step: ", ring_K_,
           " losses unread; call read_losses every K steps");
  ensure(rows);  // before any capture: a graph holds the buffers' addresses
  const bool same_cfg = cfg.beta1 == graph_cfg_.beta1 && cfg.beta2 == graph_cfg_.beta2 &&
                        cfg.eps == graph_cfg_.eps && cfg.weight_decay == graph_cfg_.weight_decay &&
                        cfg.decay_only == graph_cfg_.decay_only;
  const StepShape shape{rows, first, advance, share};
  if (!(shape == graph_shape_) || !same_cfg) exec_.reset_graph(graph_);
  graph_shape_ = shape;
  graph_cfg_ = cfg;
  upload_lr(float(cfg.lr));  // outside the graph: the step reads it from device memory
  const auto body = [this, rows, first, advance, share, cfg]() {
    // perm_ + first: this rank's slice of the batch at *start (data-parallel training).
    if (G_)
      exec_.for_each(size_t(rows) * G_,
                     ops::GatherBatch<int>{data_codes_, G_, perm_ + first, start_, codes_});
    if (D_)
      exec_.for_each(size_t(rows) * D_,
                     ops::GatherBatch<float>{data_u_, D_, perm_ + first, start_, u_});
    forward_device(rows);
    backward_device(rows);
    if (grad_sum_) {
      // The slice's mean gradient times rows / B: summed over the ranks, the global batch's.
      if (share != 1.0f) exec_.for_each(n_, ops::ScaleInPlace{grads_, share});
      grad_sum_->sum(grads_, n_, exec_.collective_stream());
    }
    adam_device(cfg);
    exec_.for_each(1, ops::RecordStep{loss_, ring_, ring_K_, start_, counter_, advance});
  };
  if (steps_run_ == 0) {
    const int zero = 0;
    exec_.upload(counter_, &zero, sizeof(int));
  }
  if (use_graph)
    exec_.run_graph(graph_, body);
  else
    body();
  last_B_ = rows;
  host_start_ += advance;
  ++step_;
  ++steps_run_;
}

template <class Exec>
std::vector<double> DeviceBackend<Exec>::read_losses() {
  std::vector<double> ring(static_cast<size_t>(ring_K_)), out;
  exec_.download(ring.data(), ring_, ring.size() * sizeof(double));
  for (long s = steps_read_; s < steps_run_; ++s) out.push_back(ring[size_t(s % ring_K_)]);
  steps_read_ = steps_run_;
  return out;
}

template <class Exec>
std::vector<double> DeviceBackend<Exec>::resident_epoch(uint64_t seed, uint64_t epoch,
                                                        int batch_size, const AdamConfig& cfg,
                                                        bool use_graph) {
  const EpochPlan plan = plan_epoch(n_rows_, batch_size);
  shuffle_epoch(seed, epoch);
  std::vector<double> losses;
  for (int s = 0; s < plan.batches; ++s) {
    resident_step(plan.batch, cfg, use_graph);
    if (read_losses_after(s, plan.batches, ring_K_)) {
      const std::vector<double> l = read_losses();
      losses.insert(losses.end(), l.begin(), l.end());
    }
  }
  return losses;
}

}  // namespace ef
