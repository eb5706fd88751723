// adam.cuh — one fused Adam step over a parameter tensor on the GPU.
//
// The same arithmetic as engine/cpu/optim.h (torch.optim.Adam 1.13, single-tensor
// path), in one pass that reads p, g, m, v once and writes p, m, v once:
//   g  = grad + weight_decay * p                     (if weight_decay != 0)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g * g
//   p  = p - step_size * m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t), t the
// 1-based step, computed in double on the host as Python does.
#pragma once
#include <cstdint>

namespace sn::cuda {

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1 on the first update
};

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, const AdamHyper& h);

}  // namespace sn::cuda
