// sgd.cu — the fused SGD update (see sgd.cuh): one thread per element.
#include "kernels/launch.cuh"
#include "kernels/sgd.cuh"

namespace sn::cuda {

namespace {

struct SgdConsts {  // the hyperparameters rounded to float, as the CPU does
  float lr, momentum, one_minus_dampening, weight_decay;
  bool nesterov, first, use_momentum, use_decay;
};

__global__ void sgd_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ buf, int64_t n,
                           SgdConsts k) {
  SN_GRID_STRIDE_LOOP(i, n) {
    float d = g[i];
    if (k.use_decay) d += k.weight_decay * p[i];
    if (k.use_momentum) {
      const float b = k.first ? d : buf[i] * k.momentum + k.one_minus_dampening * d;
      buf[i] = b;
      d = k.nesterov ? d + k.momentum * b : b;
    }
    p[i] -= k.lr * d;
  }
}

}  // namespace

void sgd_step(float* param, const float* grad, float* buf, int64_t n, const SgdHyper& h) {
  SN_CHECK(n >= 0, "sgd_step (CUDA): negative size ", n);
  SN_CHECK(h.momentum == 0 || buf != nullptr, "sgd_step (CUDA): momentum ", h.momentum, " needs a buffer");
  if (n == 0) return;
  const SgdConsts k{float(h.lr), float(h.momentum), float(1 - h.dampening), float(h.weight_decay),
                    h.nesterov,  h.first,           h.momentum != 0,        h.weight_decay != 0};
  sgd_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(param, grad, buf, n, k);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
