// ops/elementwise.cpp — relu, relu6, add, scale: forward, dispatch, and backward.
#include "engine/cpu/elementwise.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#if SCRATCHNET_CUDA
#include "kernels/elementwise.cuh"
#endif

namespace sn {

Tensor relu(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  const int64_t n = x.numel();
  SN_DISPATCH(x, cpu::relu_forward(x.data(), y.data(), n), cuda::relu_forward(x.data(), y.data(), n));
  return record(y, "relu", {x}, [x, n](const Tensor&, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(x, cpu::relu_backward(x.data(), gy.data(), gx.data(), n),
                cuda::relu_backward(x.data(), gy.data(), gx.data(), n));
    x.accumulate_grad(gx);
  });
}

Tensor relu6(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  const int64_t n = x.numel();
  SN_DISPATCH(x, cpu::relu6_forward(x.data(), y.data(), n), cuda::relu6_forward(x.data(), y.data(), n));
  return record(y, "relu6", {x}, [x, n](const Tensor&, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(x, cpu::relu6_backward(x.data(), gy.data(), gx.data(), n),
                cuda::relu6_backward(x.data(), gy.data(), gx.data(), n));
    x.accumulate_grad(gx);
  });
}

Tensor add(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "add");
  check_same_device(a, b, "add");
  Tensor y = Tensor::empty(a.shape(), a.device());
  SN_DISPATCH(a, cpu::add_forward(a.data(), b.data(), y.data(), a.numel()),
              cuda::add_forward(a.data(), b.data(), y.data(), a.numel()));
  // d(a+b)/da = d(a+b)/db = 1: the incoming gradient flows to both unchanged.
  return record(y, "add", {a, b}, [a, b](const Tensor&, const Tensor& gy) {
    if (a.requires_grad()) a.accumulate_grad(gy);
    if (b.requires_grad()) b.accumulate_grad(gy);
  });
}

Tensor scale(const Tensor& x, float s) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  SN_DISPATCH(x, cpu::scale_forward(x.data(), s, y.data(), x.numel()),
              cuda::scale_forward(x.data(), s, y.data(), x.numel()));
  return record(y, "scale", {x}, [x, s](const Tensor&, const Tensor& gy) { x.accumulate_grad(scale(gy, s)); });
}

void add_(Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "add_");
  check_same_device(a, b, "add_");
  SN_DISPATCH(a, cpu::add_forward(a.data(), b.data(), a.data(), a.numel()),
              cuda::add_forward(a.data(), b.data(), a.data(), a.numel()));
}

}  // namespace sn
