// adam.cu — the fused Adam update (see adam.cuh): memory-bound, one thread per element.
#include <cmath>

#include "kernels/adam.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {

struct AdamConsts {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay, step_size, bc2_sqrt;
};

__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, int64_t n, AdamConsts k) {
  SN_GRID_STRIDE_LOOP(i, n) {
    float grad = g[i];
    if (k.weight_decay != 0.f) grad = grad + k.weight_decay * p[i];
    const float mi = m[i] * k.beta1 + k.one_minus_beta1 * grad;
    const float vi = v[i] * k.beta2 + k.one_minus_beta2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
    p[i] = p[i] + (-k.step_size) * (mi / denom);
  }
}

}  // namespace

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, const AdamHyper& h) {
  SN_CHECK(n >= 0, "adam_step (CUDA): negative size ", n);
  SN_CHECK(h.step >= 1, "adam_step (CUDA): step must start at 1, got ", h.step);
  if (n == 0) return;
  const double bc1 = 1.0 - std::pow(h.beta1, double(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, double(h.step));
  const AdamConsts k{float(h.beta1), float(h.beta2),        float(1.0 - h.beta1), float(1.0 - h.beta2),
                     float(h.eps),   float(h.weight_decay), float(h.lr / bc1),    float(std::sqrt(bc2))};
  adam_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(param, grad, exp_avg, exp_avg_sq, n, k);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
