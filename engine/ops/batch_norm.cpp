// ops/batch_norm.cpp — batch_norm: checks, forward dispatch, and backward.
#include "engine/cpu/batch_norm.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/select.h"
#endif

namespace sn {

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean, Tensor& running_var,
                  bool training, float momentum, float eps) {
  SN_CHECK(x.ndim() == 4, "batch_norm: input must be (N,C,H,W), got ", to_string(x.shape()));
  const int64_t C = x.size(1);
  for (const Tensor* t :
       {&weight, &bias, static_cast<const Tensor*>(&running_mean), static_cast<const Tensor*>(&running_var)}) {
    if (!t->defined()) continue;
    SN_CHECK(t->shape() == Shape{C}, "batch_norm: per-channel tensors must be (", C, ") for input ",
             to_string(x.shape()), ", got ", to_string(t->shape()));
    check_same_device(x, *t, "batch_norm");
  }
  SN_CHECK(running_mean.defined() && running_var.defined(), "batch_norm: running_mean and running_var are required");
  const BatchNormShape s{x.size(0), C, x.size(2) * x.size(3)};
  SN_CHECK(!training || s.N * s.HW > 1, "batch_norm: training needs more than one value per channel, got input ",
           to_string(x.shape()));

  Tensor y = Tensor::empty(x.shape(), x.device());
  // The mean and 1/sqrt(var + eps) actually used (batch or running), kept for the backward.
  Tensor save_mean = Tensor::empty({C}, x.device()), save_invstd = Tensor::empty({C}, x.device());
  const float* w = weight.defined() ? weight.data() : nullptr;
  const float* b = bias.defined() ? bias.data() : nullptr;
  SN_DISPATCH(x,
              cpu::batch_norm_forward(s, x.data(), w, b, running_mean.data(), running_var.data(), training, momentum,
                                      eps, y.data(), save_mean.data(), save_invstd.data()),
              gpu::batch_norm_forward(s, x.data(), w, b, running_mean.data(), running_var.data(), training, momentum,
                                      eps, y.data(), save_mean.data(), save_invstd.data()));

  // Training: the gradient flows through the batch statistics too. Eval: the
  // op is y = x * scale + shift per channel.
  return record(y, "batch_norm", {x, weight, bias},
                [s, x, weight, bias, save_mean, save_invstd, training, eps](const Tensor&, const Tensor& gy) {
                  const bool need_w = weight.defined() && weight.requires_grad();
                  const bool need_b = bias.defined() && bias.requires_grad();
                  Tensor gx = x.requires_grad() ? Tensor::empty(x.shape(), x.device()) : Tensor();
                  Tensor gw = need_w ? Tensor::empty(weight.shape(), x.device()) : Tensor();
                  Tensor gb = need_b ? Tensor::empty(bias.shape(), x.device()) : Tensor();
                  auto ptr = [](const Tensor& t) { return t.defined() ? t.data() : nullptr; };
                  SN_DISPATCH(gy,
                              cpu::batch_norm_backward(s, x.data(), gy.data(), save_mean.data(), save_invstd.data(),
                                                       ptr(weight), training, eps, ptr(gx), ptr(gw), ptr(gb)),
                              gpu::batch_norm_backward(s, x.data(), gy.data(), save_mean.data(), save_invstd.data(),
                                                       ptr(weight), training, eps, ptr(gx), ptr(gw), ptr(gb)));
                  if (gx.defined()) x.accumulate_grad(gx);
                  if (gw.defined()) weight.accumulate_grad(gw);
                  if (gb.defined()) bias.accumulate_grad(gb);
                });
}

}  // namespace sn
