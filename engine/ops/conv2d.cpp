// ops/conv2d.cpp — conv2d: shape checks, forward dispatch, and backward.
#include "engine/cpu/conv2d.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/conv2d_grouped.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/select.h"
#endif

namespace sn {

static Conv2dShape conv2d_shape(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dParams p) {
  SN_CHECK(x.ndim() == 4, "conv2d: input must be (N,C,H,W), got ", to_string(x.shape()));
  SN_CHECK(w.ndim() == 4, "conv2d: weight must be (K,C/groups,R,S), got ", to_string(w.shape()));
  SN_CHECK(p.groups >= 1, "conv2d: groups must be at least 1, got ", p.groups);
  SN_CHECK(x.size(1) % p.groups == 0 && w.size(0) % p.groups == 0, "conv2d: ", x.size(1), " input channels (input ",
           to_string(x.shape()), ") and ", w.size(0), " output channels (weight ", to_string(w.shape()),
           ") must both be multiples of groups = ", p.groups);
  SN_CHECK(x.size(1) == w.size(1) * p.groups, "conv2d: input has ", x.size(1), " channels but weight ",
           to_string(w.shape()), " with groups = ", p.groups, " expects ", w.size(1) * p.groups, " (input ",
           to_string(x.shape()), ")");
  SN_CHECK(p.stride >= 1 && p.padding >= 0, "conv2d: bad stride ", p.stride, " or padding ", p.padding);
  check_same_device(x, w, "conv2d (input vs weight)");
  if (b.defined()) {
    SN_CHECK(b.shape() == Shape{w.size(0)}, "conv2d: bias must be (", w.size(0), "), got ", to_string(b.shape()));
    check_same_device(x, b, "conv2d (input vs bias)");
  }
  Conv2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2),
                w.size(3), p.stride,  p.padding, 0,         0,         p.groups};
  SN_CHECK(s.H + 2 * s.pad >= s.R && s.W + 2 * s.pad >= s.S, "conv2d: kernel ", s.R, "x", s.S,
           " larger than the padded input ", to_string(x.shape()), " with padding ", s.pad);
  s.P = (s.H + 2 * s.pad - s.R) / s.stride + 1;
  s.Q = (s.W + 2 * s.pad - s.S) / s.stride + 1;
  return s;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dParams p) {
  const Conv2dShape s = conv2d_shape(x, weight, bias, p);
  Tensor y = Tensor::empty({s.N, s.K, s.P, s.Q}, x.device());
  const float* b = bias.defined() ? bias.data() : nullptr;
  // groups == 1 stays on the dense kernels; gpu:: takes both (cuDNN has groups, the native path its own kernels).
  SN_DISPATCH(x,
              s.groups == 1 ? cpu::conv2d_forward(s, x.data(), weight.data(), b, y.data())
                            : cpu::conv2d_grouped_forward(s, x.data(), weight.data(), b, y.data()),
              gpu::conv2d_forward(s, x.data(), weight.data(), b, y.data()));

  // dx needs the weight, dW needs x, db only gy. A conv with frozen weight and
  // frozen input records nothing (record() drops this closure and what it holds).
  return record(y, "conv2d", {x, weight, bias}, [s, x, weight, bias](const Tensor&, const Tensor& gy) {
    if (x.requires_grad()) {
      Tensor gx = Tensor::empty(x.shape(), x.device());
      SN_DISPATCH(gy,
                  s.groups == 1 ? cpu::conv2d_backward_input(s, gy.data(), weight.data(), gx.data())
                                : cpu::conv2d_grouped_backward_input(s, gy.data(), weight.data(), gx.data()),
                  gpu::conv2d_backward_input(s, gy.data(), weight.data(), gx.data()));
      x.accumulate_grad(gx);
    }
    if (weight.requires_grad()) {
      Tensor gw = Tensor::empty(weight.shape(), weight.device());
      SN_DISPATCH(gy,
                  s.groups == 1 ? cpu::conv2d_backward_weight(s, x.data(), gy.data(), gw.data())
                                : cpu::conv2d_grouped_backward_weight(s, x.data(), gy.data(), gw.data()),
                  gpu::conv2d_backward_weight(s, x.data(), gy.data(), gw.data()));
      weight.accumulate_grad(gw);
    }
    if (bias.defined() && bias.requires_grad()) {
      Tensor gb = Tensor::empty(bias.shape(), bias.device());
      SN_DISPATCH(gy, cpu::conv2d_backward_bias(s, gy.data(), gb.data()),
                  gpu::conv2d_backward_bias(s, gy.data(), gb.data()));
      bias.accumulate_grad(gb);
    }
  });
}

}  // namespace sn
