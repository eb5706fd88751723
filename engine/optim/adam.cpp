#include "engine/optim/adam.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/optim.h"
#include "engine/dispatch.h"
#if SCRATCHNET_CUDA
#include "kernels/adam.cuh"
#endif

namespace sn::optim {

Adam::Adam(std::vector<Tensor> params, AdamOptions o) : Optimizer(std::move(params)), options_(o) {
  SN_CHECK(o.lr >= 0 && o.eps >= 0 && o.weight_decay >= 0, "Adam: invalid lr ", o.lr, ", eps ", o.eps,
           " or weight_decay ", o.weight_decay);
  SN_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "Adam: betas must lie in [0, 1), got (", o.beta1,
           ", ", o.beta2, ")");
  lr_ = o.lr;
  for (auto& p : params_) {
    steps_.push_back(0);
    exp_avg_.push_back(Tensor::zeros(p.shape(), p.device()));
    exp_avg_sq_.push_back(Tensor::zeros(p.shape(), p.device()));
  }
}

void Adam::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    check_same_device(p, g, "Adam (parameter vs gradient)");
    const int64_t t = ++steps_[i];
    // Bias corrections in double, once per tensor (Python floats in PyTorch).
    const double bc1 = 1 - std::pow(options_.beta1, static_cast<double>(t));
    const double bc2 = 1 - std::pow(options_.beta2, static_cast<double>(t));
    const AdamStep h{lr_,       options_.beta1, options_.beta2, options_.eps, options_.weight_decay,
                     lr_ / bc1, std::sqrt(bc2)};
    float *pd = p.data(), *m = exp_avg_[i].data(), *v = exp_avg_sq_[i].data();
    const int64_t n = p.numel();
    SN_DISPATCH(
        p, cpu::adam_step(pd, g.data(), m, v, n, h),
        cuda::adam_step(pd, g.data(), m, v, n,
                        cuda::AdamHyper{lr_, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, t}));
  }
}

NamedTensors Adam::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string prefix = "state." + std::to_string(i) + ".";
    out.emplace_back(prefix + "step", Tensor::full({}, static_cast<float>(steps_[i])));
    out.emplace_back(prefix + "exp_avg", exp_avg_[i].clone());  // copies: the caller may keep them
    out.emplace_back(prefix + "exp_avg_sq", exp_avg_sq_[i].clone());
  }
  return out;
}

void Adam::load_state(const NamedTensors& state) {
  auto used = names_of(state);
  const std::map<std::string, Tensor> by_name(state.begin(), state.end());
  // Check everything before changing anything, so a bad file leaves the optimizer as it was.
  std::vector<int64_t> steps(params_.size());
  std::vector<Tensor> m(params_.size()), v(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const float s = take(by_name, used, i, "step", {}, true).item();
    SN_CHECK(s >= 0 && s == std::floor(s), "optimizer state: 'state.", i, ".step' must be a whole number >= 0, got ",
             s);
    steps[i] = static_cast<int64_t>(s);
    m[i] = take(by_name, used, i, "exp_avg", params_[i].shape(), true);
    v[i] = take(by_name, used, i, "exp_avg_sq", params_[i].shape(), true);
  }
  check_all_used(used);
  for (size_t i = 0; i < params_.size(); ++i) {
    steps_[i] = steps[i];
    exp_avg_[i].copy_(m[i]);
    exp_avg_sq_[i].copy_(v[i]);
  }
}

}  // namespace sn::optim
