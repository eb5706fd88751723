#include "engine/optim/sgd.h"

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/optim.h"
#include "engine/dispatch.h"
#if SCRATCHNET_CUDA
#include "kernels/sgd.cuh"
#endif

namespace sn::optim {

SGD::SGD(std::vector<Tensor> params, SgdOptions o) : Optimizer(std::move(params)), options_(o) {
  SN_CHECK(o.lr >= 0, "SGD: a learning rate >= 0 is required, got ", o.lr);
  SN_CHECK(o.momentum >= 0 && o.weight_decay >= 0, "SGD: invalid momentum ", o.momentum, " or weight_decay ",
           o.weight_decay);
  SN_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
           "SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
  lr_ = o.lr;
  buf_.resize(params_.size());
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    check_same_device(p, g, "SGD (parameter vs gradient)");
    const bool first = !buf_[i].defined();
    if (options_.momentum != 0 && first) buf_[i] = Tensor::empty(p.shape(), p.device());
    const SgdStep h{lr_, options_.momentum, options_.dampening, options_.weight_decay, options_.nesterov, first};
    float* buf = options_.momentum != 0 ? buf_[i].data() : nullptr;
    SN_DISPATCH(p, cpu::sgd_step(p.data(), g.data(), buf, p.numel(), h),
                cuda::sgd_step(p.data(), g.data(), buf, p.numel(),
                               cuda::SgdHyper{lr_, options_.momentum, options_.dampening, options_.weight_decay,
                                              options_.nesterov, first}));
  }
}

NamedTensors SGD::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i)
    if (buf_[i].defined()) out.emplace_back("state." + std::to_string(i) + ".momentum_buffer", buf_[i].clone());
  return out;
}

void SGD::load_state(const NamedTensors& state) {
  auto used = names_of(state);
  const std::map<std::string, Tensor> by_name(state.begin(), state.end());
  std::vector<Tensor> bufs(params_.size());
  for (size_t i = 0; i < params_.size(); ++i)
    bufs[i] = take(by_name, used, i, "momentum_buffer", params_[i].shape(), false);
  check_all_used(used);
  for (size_t i = 0; i < params_.size(); ++i)
    buf_[i] = bufs[i].defined() ? bufs[i].to(params_[i].device()).clone() : Tensor();
}

}  // namespace sn::optim
