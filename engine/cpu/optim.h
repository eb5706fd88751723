// cpu/optim.h — the per-element parameter updates of Adam and SGD on the CPU.
//
// Adam, as torch.optim.Adam 1.13 (single-tensor path), for step t = 1, 2, ...:
//   g  = grad + weight_decay * p                    (L2 penalty added to the gradient)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g * g
//   p  = p - step_size * m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), computed
// in double once per tensor (as Python does) and passed in.
//
// SGD, as torch.optim.SGD 1.13:
//   d = grad + weight_decay * p
//   momentum != 0:  buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
//                   d = nesterov ? d + momentum * buf : buf
//   p = p - lr * d
#pragma once
#include <cstdint>

namespace sn {

struct AdamStep {
  double lr, beta1, beta2, eps, weight_decay;
  double step_size, bc2_sqrt;  // from the step count, see above
};
struct SgdStep {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first;  // the momentum buffer starts as a copy of d
};

namespace ref {
template <typename T>
void adam_step(T* p, const T* grad, T* m, T* v, int64_t n, const AdamStep& h);
template <typename T>
void sgd_step(T* p, const T* grad, T* buf, int64_t n, const SgdStep& h);  // buf unused without momentum
}  // namespace ref

namespace cpu {
void adam_step(float* p, const float* grad, float* m, float* v, int64_t n, const AdamStep& h);
void sgd_step(float* p, const float* grad, float* buf, int64_t n, const SgdStep& h);
}  // namespace cpu

}  // namespace sn
