#include "engine/cpu/optim.h"

#include <cmath>

#include "engine/parallel.h"

namespace sn {

namespace {
// One element of each update, in T, rounded step by step as PyTorch's CPU
// kernels do, so 10 steps agree to float rounding: hyperparameters are rounded
// to T first (a Python float applied to a float tensor); `x.add_(y, alpha=a)`
// is one fused multiply-add fma(y, a, x) in PyTorch's vectorized kernel;
// `addcdiv_(m, d, value=s)` is x + (s * m) / d; `addcmul_(g, g, value=s)` is x + s * g * g.
template <typename T> inline void adam_one(T& p, T g, T& m, T& v, const AdamStep& h) {
  if (h.weight_decay != 0) g = std::fma(p, T(h.weight_decay), g);
  m = std::fma(g, T(1 - h.beta1), m * T(h.beta1));
  v = v * T(h.beta2) + T(1 - h.beta2) * g * g;
  const T denom = std::sqrt(v) / T(h.bc2_sqrt) + T(h.eps);
  p = p + (T(-h.step_size) * m) / denom;
}
template <typename T> inline void sgd_one(T& p, T g, T* buf, const SgdStep& h) {
  if (h.weight_decay != 0) g = std::fma(p, T(h.weight_decay), g);
  if (h.momentum != 0) {
    *buf = h.first ? g : std::fma(g, T(1 - h.dampening), *buf * T(h.momentum));
    g = h.nesterov ? std::fma(*buf, T(h.momentum), g) : *buf;
  }
  p = std::fma(g, T(-h.lr), p);
}
}  // namespace

namespace ref {
template <typename T> void adam_step(T* p, const T* grad, T* m, T* v, int64_t n, const AdamStep& h) {
  for (int64_t i = 0; i < n; ++i) adam_one(p[i], grad[i], m[i], v[i], h);
}
template <typename T> void sgd_step(T* p, const T* grad, T* buf, int64_t n, const SgdStep& h) {
  for (int64_t i = 0; i < n; ++i) sgd_one(p[i], grad[i], buf ? buf + i : nullptr, h);
}
template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamStep&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t, const AdamStep&);
template void sgd_step<float>(float*, const float*, float*, int64_t, const SgdStep&);
template void sgd_step<double>(double*, const double*, double*, int64_t, const SgdStep&);
}  // namespace ref

// Elementwise: chunks over threads, same arithmetic as ref (bitwise equal).
namespace cpu {
void adam_step(float* p, const float* grad, float* m, float* v, int64_t n, const AdamStep& h) {
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) adam_one(p[i], grad[i], m[i], v[i], h);
  });
}
void sgd_step(float* p, const float* grad, float* buf, int64_t n, const SgdStep& h) {
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sgd_one(p[i], grad[i], buf ? buf + i : nullptr, h);
  });
}
}  // namespace cpu

}  // namespace sn
