// sgd.cuh — one fused SGD step (momentum, dampening, Nesterov, weight decay) on the GPU.
// The same arithmetic as engine/cpu/optim.h (torch.optim.SGD 1.13):
//   d = grad + weight_decay * p
//   momentum != 0:  buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
//                   d = nesterov ? d + momentum * buf : buf
//   p = p - lr * d
// buf may be null when momentum == 0. Device pointers.
#pragma once
#include <cstdint>

namespace sn::cuda {

struct SgdHyper {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first;  // the momentum buffer starts as a copy of d
};

void sgd_step(float* param, const float* grad, float* buf, int64_t n, const SgdHyper& h);

}  // namespace sn::cuda
