#include "engine/nn/layers.h"

#include <cmath>

#include "engine/check.h"

namespace sn::nn {

static std::string fmt_pair(int v) { return "(" + std::to_string(v) + ", " + std::to_string(v) + ")"; }

Conv2d::Conv2d(int in_c, int out_c, int k, int stride, int padding, bool with_bias, Rng& rng, int groups)
    : in_channels(in_c), out_channels(out_c), kernel_size(k), params{stride, padding, groups} {
  SN_USER_CHECK(groups >= 1 && in_c % groups == 0 && out_c % groups == 0, "Conv2d: ", in_c, " input and ", out_c,
                " output channels must both be multiples of groups = ", groups);
  const float bound = 1.f / std::sqrt(static_cast<float>(in_c / groups * k * k));
  weight = Tensor::uniform({out_c, in_c / groups, k, k}, rng, -bound, bound);
  register_parameter("weight", &weight);
  if (with_bias) {
    bias = Tensor::uniform({out_c}, rng, -bound, bound);
    register_parameter("bias", &bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, params); }

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + fmt_pair(kernel_size) + ", stride=" + fmt_pair(params.stride);
  if (params.padding) s += ", padding=" + fmt_pair(params.padding);
  if (params.groups != 1) s += ", groups=" + std::to_string(params.groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

BatchNorm2d::BatchNorm2d(int c, float eps_, float momentum_) : channels(c), eps(eps_), momentum(momentum_) {
  weight = Tensor::ones({c});
  bias = Tensor::zeros({c});
  running_mean = Tensor::zeros({c});
  running_var = Tensor::ones({c});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return batch_norm(x, weight, bias, running_mean, running_var, training_, momentum, eps);
}

static std::string fmt_float(float v) {
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

std::string BatchNorm2d::extra_repr() const {
  char eps_buf[32];
  std::snprintf(eps_buf, sizeof eps_buf, "%g", static_cast<double>(eps));
  return std::to_string(channels) + ", eps=" + eps_buf + ", momentum=" + fmt_float(momentum) +
         ", affine=True, track_running_stats=True";
}

Linear::Linear(int in_f, int out_f, bool with_bias, Rng& rng) : in_features(in_f), out_features(out_f) {
  const float bound = 1.f / std::sqrt(static_cast<float>(in_f));
  weight = Tensor::uniform({out_f, in_f}, rng, -bound, bound);
  register_parameter("weight", &weight);
  if (with_bias) {
    bias = Tensor::uniform({out_f}, rng, -bound, bound);
    register_parameter("bias", &bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "True" : "False");
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + std::to_string(kernel_size) + ", stride=" + std::to_string(stride) +
         ", padding=" + std::to_string(padding) + ", dilation=1, ceil_mode=False";
}

std::string Dropout::extra_repr() const { return "p=" + fmt_float(p) + ", inplace=False"; }

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=(" + std::to_string(out_h) + ", " + std::to_string(out_w) + ")";
}

void Sequential::append(std::shared_ptr<Module> m) {
  items_.push_back(m);
  register_module(std::to_string(items_.size() - 1), m);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : items_) y = m->forward(y);
  return y;
}

}  // namespace sn::nn
