// ops/linear.cpp — linear: checks, forward dispatch, and backward.
#include "engine/cpu/linear.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/linear.cuh"
#endif

namespace sn {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SN_CHECK(x.ndim() == 2, "linear: input must be (N,in), got ", to_string(x.shape()), " (flatten it first)");
  SN_CHECK(weight.ndim() == 2 && weight.size(1) == x.size(1), "linear: weight ", to_string(weight.shape()),
           " does not fit input ", to_string(x.shape()), " (expected (out, ", x.size(1), "))");
  check_same_device(x, weight, "linear (input vs weight)");
  const int64_t N = x.size(0), in = x.size(1), out = weight.size(0);
  if (bias.defined()) {
    SN_CHECK(bias.shape() == Shape{out}, "linear: bias must be (", out, "), got ", to_string(bias.shape()));
    check_same_device(x, bias, "linear (input vs bias)");
  }
  Tensor y = Tensor::empty({N, out}, x.device());
  const float* b = bias.defined() ? bias.data() : nullptr;
  SN_DISPATCH(x, cpu::linear_forward(N, in, out, x.data(), weight.data(), b, y.data()),
              cuda::linear_forward(N, in, out, x.data(), weight.data(), b, y.data()));
  return record(y, "linear", {x, weight, bias}, [N, in, out, x, weight, bias](const Tensor&, const Tensor& gy) {
    if (x.requires_grad()) {
      Tensor gx = Tensor::empty(x.shape(), x.device());
      SN_DISPATCH(gy, cpu::linear_backward_input(N, in, out, gy.data(), weight.data(), gx.data()),
                  cuda::linear_backward_input(N, in, out, gy.data(), weight.data(), gx.data()));
      x.accumulate_grad(gx);
    }
    if (weight.requires_grad()) {
      Tensor gw = Tensor::empty(weight.shape(), weight.device());
      SN_DISPATCH(gy, cpu::linear_backward_weight(N, in, out, x.data(), gy.data(), gw.data()),
                  cuda::linear_backward_weight(N, in, out, x.data(), gy.data(), gw.data()));
      weight.accumulate_grad(gw);
    }
    if (bias.defined() && bias.requires_grad()) {
      Tensor gb = Tensor::empty(bias.shape(), bias.device());
      SN_DISPATCH(gy, cpu::linear_backward_bias(N, out, gy.data(), gb.data()),
                  cuda::linear_backward_bias(N, out, gy.data(), gb.data()));
      bias.accumulate_grad(gb);
    }
  });
}

}  // namespace sn
