// ops/adaptive_pool.cpp — adaptive_avg_pool2d to any output size: checks, dispatch, backward.
#include "engine/cpu/adaptive_pool.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/adaptive_pool.cuh"
#endif

namespace sn {

Tensor adaptive_avg_pool2d(const Tensor& x, int out_h, int out_w) {
  SN_CHECK(x.ndim() == 4, "adaptive_avg_pool2d: input must be (N,C,H,W), got ", to_string(x.shape()));
  SN_CHECK(out_h >= 1 && out_w >= 1, "adaptive_avg_pool2d: output size must be at least 1x1, got ", out_h, "x", out_w);
  SN_CHECK(x.size(2) >= 1 && x.size(3) >= 1, "adaptive_avg_pool2d: empty planes in ", to_string(x.shape()));
  if (out_h == 1 && out_w == 1) return adaptive_avg_pool2d_1x1(x);  // the global mean has its own kernel
  const AdaptivePool2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), out_h, out_w};
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.device());
  SN_DISPATCH(x, cpu::adaptive_avg_pool2d_forward(s, x.data(), y.data()),
              cuda::adaptive_avg_pool2d_forward(s, x.data(), y.data()));
  // The bins depend on the sizes only: the backward reads no activation.
  return record(y, "adaptive_avg_pool2d", {x}, [s, x](const Tensor&, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(gy, cpu::adaptive_avg_pool2d_backward(s, gy.data(), gx.data()),
                cuda::adaptive_avg_pool2d_backward(s, gy.data(), gx.data()));
    x.accumulate_grad(gx);
  });
}

}  // namespace sn
