// ops/pooling.cpp — max_pool2d and adaptive_avg_pool2d_1x1: checks, dispatch, backward.
#include "engine/cpu/pooling.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/pooling.cuh"
#include "kernels/select.h"
#endif

namespace sn {

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  SN_CHECK(x.ndim() == 4, "max_pool2d: input must be (N,C,H,W), got ", to_string(x.shape()));
  SN_CHECK(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel, "max_pool2d: bad kernel ", kernel,
           ", stride ", stride, ", padding ", padding, " (padding must be at most half the kernel)");
  Pool2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), kernel, stride, padding, 0, 0};
  SN_CHECK(s.H + 2 * s.pad >= kernel && s.W + 2 * s.pad >= kernel, "max_pool2d: kernel ", kernel,
           " larger than the padded input ", to_string(x.shape()));
  s.P = (s.H + 2 * s.pad - kernel) / stride + 1;
  s.Q = (s.W + 2 * s.pad - kernel) / stride + 1;
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.device());
  SN_DISPATCH(x, cpu::max_pool2d_forward(s, x.data(), y.data()), gpu::max_pool2d_forward(s, x.data(), y.data()));
  return record(y, "max_pool2d", {x}, [s, x](const Tensor&, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(gy, cpu::max_pool2d_backward(s, x.data(), gy.data(), gx.data()),
                gpu::max_pool2d_backward(s, x.data(), gy.data(), gx.data()));
    x.accumulate_grad(gx);
  });
}

Tensor adaptive_avg_pool2d_1x1(const Tensor& x) {
  SN_CHECK(x.ndim() == 4, "adaptive_avg_pool2d: input must be (N,C,H,W), got ", to_string(x.shape()));
  const int64_t planes = x.size(0) * x.size(1), hw = x.size(2) * x.size(3);
  SN_CHECK(hw > 0, "adaptive_avg_pool2d: empty planes in ", to_string(x.shape()));
  Tensor y = Tensor::empty({x.size(0), x.size(1), 1, 1}, x.device());
  SN_DISPATCH(x, cpu::avg_pool_1x1_forward(planes, hw, x.data(), y.data()),
              cuda::avg_pool_1x1_forward(planes, hw, x.data(), y.data()));
  // dx = dy / (H*W) everywhere in the plane: no activation is read.
  return record(y, "adaptive_avg_pool2d", {x}, [x, planes, hw](const Tensor&, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(gy, cpu::avg_pool_1x1_backward(planes, hw, gy.data(), gx.data()),
                cuda::avg_pool_1x1_backward(planes, hw, gy.data(), gx.data()));
    x.accumulate_grad(gx);
  });
}

}  // namespace sn
