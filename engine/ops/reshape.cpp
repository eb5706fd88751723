// ops/reshape.cpp — differentiable views: reshape and flatten share storage
// with their input; the backward reshapes the gradient back.
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"

namespace sn {

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  return record(y, "reshape", {x}, [x](const Tensor&, const Tensor& gy) { x.accumulate_grad(gy.view(x.shape())); });
}

Tensor flatten(const Tensor& x, int64_t start_dim) {
  SN_CHECK(start_dim >= 0 && start_dim < x.ndim(), "flatten: start_dim ", start_dim, " out of range for ",
           to_string(x.shape()));
  Shape s(x.shape().begin(), x.shape().begin() + start_dim);
  s.push_back(-1);
  return reshape(x, s);
}

}  // namespace sn
