// The CPU reference backend: plain loops plus OpenBLAS GEMMs, OpenMP across rows.
#include <algorithm>

#include "backend.hpp"
#include "error.hpp"

namespace ef {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const TabularSpec& spec) : model_(spec) {
    const size_t n = model_.num_params();
    params_.assign(n, 0.f);
    grads_.assign(n, 0.f);
    m_.assign(n, 0.f);
    v_.assign(n, 0.f);
  }
  std::string name() const override { return "cpu"; }
  const TabularSpec& spec() const override { return model_.spec(); }
  size_t num_params() const override { return params_.size(); }
  double flops_per_row() const override { return model_.flops_per_row(); }
  void init_params() override { model_.init(params_.data()); }
  void init_from_data(const int* codes, const float* u, int N) override {
    model_.init_from_data(params_.data(), codes, u, N, ws_);
  }
  std::vector<float> get_params() const override { return params_; }
  void set_params(const std::vector<float>& p) override {
    EF_CHECK(p.size() == params_.size(), "parameter count mismatch: ", p.size(), " vs ",
             params_.size());
    params_ = p;
  }
  std::vector<float> get_grads() const override { return grads_; }
  float* host_grads() override { return grads_.data(); }

  double forward(const int* codes, const float* u, int B) override {
    logp_.resize(B);
    model_.log_prob(params_.data(), codes, u, B, logp_.data(), ws_);
    double s = 0;
    for (float v : logp_) s += v;
    return s / B;
  }
  void backward() override {
    const int B = int(logp_.size());
    EF_CHECK(B > 0, "backward without forward");
    std::fill(grads_.begin(), grads_.end(), 0.f);
    dlogp_.assign(B, -1.f / float(B));  // loss = -mean log p
    model_.backward(params_.data(), dlogp_.data(), B, grads_.data(), ws_);
  }
  void adam_step(const AdamConfig& cfg) override {
    ++step_;
    adam_step_cpu(params_.data(), grads_.data(), m_.data(), v_.data(), params_.size(), cfg, step_);
  }
  void reset_optimizer() override {
    std::fill(m_.begin(), m_.end(), 0.f);
    std::fill(v_.begin(), v_.end(), 0.f);
    step_ = 0;
  }
  void score(const int* codes, const float* u, int B, float* logp) override {
    model_.log_prob(params_.data(), codes, u, B, logp, ws_);
  }
  void score_terms(const int* codes, const float* u, int B, float* terms) override {
    model_.log_prob_terms(params_.data(), codes, u, B, terms, ws_);
  }
  void sample(int n, uint64_t seed, uint64_t row_offset, const Given<float>* given, int* codes,
              float* u, SampleInfo* info) override {
    model_.sample(params_.data(), n, seed, row_offset, given, codes, u, ws_, info);
  }

 private:
  TabularModel<float> model_;
  std::vector<float> params_, grads_, m_, v_;  // one layout: model_.layout()
  std::vector<float> logp_, dlogp_;
  TabularWorkspace<float> ws_;
  long step_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const TabularSpec& spec) {
  return std::make_unique<CpuBackend>(spec);
}

}  // namespace ef
