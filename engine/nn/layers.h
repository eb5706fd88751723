// nn/layers.h — the layers a ResNet is built from, as thin Modules over ops.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace sn::nn {

// Weights start as PyTorch's defaults do (kaiming_uniform with a=sqrt(5), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels/groups * k*k, and the same
// bound for biases), drawn from `rng`. groups > 1: a grouped (groups == in == out: depthwise)
// convolution, weight (out, in/groups, k, k).
class Conv2d : public Module {
 public:
  Conv2d(int in_channels, int out_channels, int kernel_size, int stride, int padding, bool bias, Rng& rng,
         int groups = 1);
  Tensor forward(const Tensor& x) override;  // (N,C,H,W) -> (N,K,P,Q)
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  Tensor weight;  // (K,C,R,S)
  Tensor bias;    // (K) or undefined
  int in_channels, out_channels, kernel_size;
  Conv2dParams params;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f);
  Tensor forward(const Tensor& x) override;  // (N,C,H,W) -> same
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;
  Tensor weight, bias;               // (C), init 1 and 0
  Tensor running_mean, running_var;  // (C), init 0 and 1
  int channels;
  float eps, momentum;
};

class Linear : public Module {
 public:
  Linear(int in_features, int out_features, bool bias, Rng& rng);
  Tensor forward(const Tensor& x) override;  // (N,in) -> (N,out)
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  Tensor weight;  // (out,in)
  Tensor bias;    // (out)
  int in_features, out_features;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
  std::string extra_repr() const override { return "inplace=True"; }
};

// min(max(x, 0), 6), as torchvision's MobileNetV2 uses it (ReLU6(inplace=True)).
class ReLU6 : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu6(x); }
  std::string type_name() const override { return "ReLU6"; }
  std::string extra_repr() const override { return "inplace=True"; }
};

// Dropout with its own generator, seeded once: in training each forward draws a new
// mask from it (sn::dropout); in eval it returns its input. PyTorch's masks cannot be
// reproduced (another generator), only their statistics.
class Dropout : public Module {
 public:
  explicit Dropout(float p = 0.5f, uint64_t seed = 0) : p(p), rng(seed) {}
  Tensor forward(const Tensor& x) override { return dropout(x, p, training_, rng); }
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  float p;
  Rng rng;
};

class MaxPool2d : public Module {
 public:
  MaxPool2d(int kernel_size, int stride, int padding) : kernel_size(kernel_size), stride(stride), padding(padding) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, kernel_size, stride, padding); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  int kernel_size, stride, padding;
};

class AdaptiveAvgPool2d : public Module {  // (N,C,H,W) -> (N,C,out_h,out_w); default 1x1
 public:
  AdaptiveAvgPool2d() = default;
  AdaptiveAvgPool2d(int out_h, int out_w) : out_h(out_h), out_w(out_w) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, out_h, out_w); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  int out_h = 1, out_w = 1;
};

class Sequential : public Module {
 public:
  Sequential() = default;
  void append(std::shared_ptr<Module> m);  // registered as "0", "1", ...
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return items_.size(); }
  Module& operator[](size_t i) const { return *items_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

}  // namespace sn::nn
