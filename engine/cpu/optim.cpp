#include "engine/cpu/optim.h"

#include <cmath>
#include <type_traits>

#include "engine/parallel.h"

namespace sn {

namespace {
// One element of each update, in T, rounded step by step as PyTorch's CPU
// kernels do, so 10 steps agree to float rounding: hyperparameters are rounded
// to T first (a Python float applied to a float tensor); `x.add_(y, alpha=a)`
// is one fused multiply-add fma(y, a, x) in PyTorch's vectorized kernel;
// `addcdiv_(m, d, value=s)` is x + (s * m) / d; `addcmul_(g, g, value=s)` is x + s * g * g.
template <typename T>
inline void adam_one(T& p, T g, T& m, T& v, const AdamStep& h) {
  if (h.weight_decay != 0) g = std::fma(p, T(h.weight_decay), g);
  m = std::fma(g, T(1 - h.beta1), m * T(h.beta1));
  v = v * T(h.beta2) + T(1 - h.beta2) * g * g;
  const T denom = std::sqrt(v) / T(h.bc2_sqrt) + T(h.eps);
  p = p + (T(-h.step_size) * m) / denom;
}
template <typename T>
inline void sgd_one(T& p, T g, T* buf, const SgdStep& h) {
  if (h.weight_decay != 0) g = std::fma(p, T(h.weight_decay), g);
  if (h.momentum != 0) {
    *buf = h.first ? g : std::fma(g, T(1 - h.dampening), *buf * T(h.momentum));
    g = h.nesterov ? std::fma(*buf, T(h.momentum), g) : *buf;
  }
  p = std::fma(g, T(-h.lr), p);
}
}  // namespace

namespace ref {
template <typename T>
void adam_step(T* p, const T* grad, T* m, T* v, int64_t n, const AdamStep& h) {
  for (int64_t i = 0; i < n; ++i) adam_one(p[i], grad[i], m[i], v[i], h);
}
template <typename T>
void sgd_step(T* p, const T* grad, T* buf, int64_t n, const SgdStep& h) {
  for (int64_t i = 0; i < n; ++i) sgd_one(p[i], grad[i], buf ? buf + i : nullptr, h);
}
template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamStep&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t, const AdamStep&);
template void sgd_step<float>(float*, const float*, float*, int64_t, const SgdStep&);
template void sgd_step<double>(double*, const double*, double*, int64_t, const SgdStep&);
}  // namespace ref

// Elementwise: chunks over threads, same arithmetic as ref (bitwise equal).
namespace cpu {
// Adam: the hyperparameters are rounded to float once, out of the loop, and the
// loop is vectorized (`omp simd`; this file is compiled with -fno-math-errno,
// see CMakeLists.txt, because a sqrt that may set errno cannot be vectorized).
// The vector sqrt, division and fma round exactly like the scalar ones (IEEE),
// so the result is still bitwise the reference's.
void adam_step(float* p, const float* grad, float* m, float* v, int64_t n, const AdamStep& h) {
  const float decay = float(h.weight_decay), b1 = float(h.beta1), one_b1 = float(1 - h.beta1);
  const float b2 = float(h.beta2), one_b2 = float(1 - h.beta2), bc2 = float(h.bc2_sqrt), eps = float(h.eps);
  const float neg_step = float(-h.step_size);
  auto update = [&](int64_t b, int64_t e, auto with_decay) {  // with_decay: a compile-time bool, no branch inside
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      float g = grad[i];
      if constexpr (decltype(with_decay)::value) g = std::fma(p[i], decay, g);
      const float mi = std::fma(g, one_b1, m[i] * b1);
      const float vi = v[i] * b2 + one_b2 * g * g;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] + (neg_step * mi) / (std::sqrt(vi) / bc2 + eps);
    }
  };
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    if (h.weight_decay != 0)
      update(b, e, std::true_type{});
    else
      update(b, e, std::false_type{});
  });
}
void sgd_step(float* p, const float* grad, float* buf, int64_t n, const SgdStep& h) {
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sgd_one(p[i], grad[i], buf ? buf + i : nullptr, h);
  });
}
}  // namespace cpu

}  // namespace sn
