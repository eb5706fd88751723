// standin18.h — TEMPORARY forward-only stand-ins for the issue-18 ops (grouped
// conv, ReLU6, dropout, adaptive average pooling) until branch ops18 lands.
// Removed when it is merged; nothing else may include it.
#pragma once
#include <cmath>
#include <string>

#include "engine/nn/module.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace sn::models::nn18 {

struct Params18 {
  int stride = 1, padding = 0, groups = 1;
};

class Conv2d : public nn::Module {
 public:
  Conv2d(int in_c, int out_c, int k, int stride, int padding, bool with_bias, Rng& rng, int groups = 1)
      : in_channels(in_c), out_channels(out_c), kernel_size(k), params{stride, padding, groups} {
    const float bound = 1.f / std::sqrt(static_cast<float>(in_c / groups * k * k));
    weight = Tensor::uniform({out_c, in_c / groups, k, k}, rng, -bound, bound);
    register_parameter("weight", &weight);
    if (with_bias) {
      bias = Tensor::uniform({out_c}, rng, -bound, bound);
      register_parameter("bias", &bias);
    }
  }
  Tensor forward(const Tensor& x) override {
    if (params.groups == 1) return conv2d(x, weight, bias, {params.stride, params.padding});
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = out_channels, R = kernel_size;
    const int64_t G = params.groups, Cg = C / G, Kg = K / G, s = params.stride, p = params.padding;
    const int64_t P = (H + 2 * p - R) / s + 1, Q = (W + 2 * p - R) / s + 1;
    Tensor y = Tensor::empty({N, K, P, Q});
    const float* xd = x.data();
    const float* wd = weight.data();
    float* yd = y.data();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t g = k / Kg;
        for (int64_t i = 0; i < P; ++i)
          for (int64_t j = 0; j < Q; ++j) {
            float acc = bias.defined() ? bias.data()[k] : 0.f;
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t r = 0; r < R; ++r)
                for (int64_t t = 0; t < R; ++t) {
                  const int64_t h = i * s - p + r, w = j * s - p + t;
                  if (h < 0 || h >= H || w < 0 || w >= W) continue;
                  acc += xd[((n * C + g * Cg + c) * H + h) * W + w] * wd[((k * Cg + c) * R + r) * R + t];
                }
            yd[((n * K + k) * P + i) * Q + j] = acc;
          }
      }
    return y;
  }
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override {
    auto pr = [](int v) { return "(" + std::to_string(v) + ", " + std::to_string(v) + ")"; };
    std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                    ", kernel_size=" + pr(kernel_size) + ", stride=" + pr(params.stride);
    if (params.padding) s += ", padding=" + pr(params.padding);
    if (params.groups != 1) s += ", groups=" + std::to_string(params.groups);
    if (!bias.defined()) s += ", bias=False";
    return s;
  }
  int in_channels, out_channels, kernel_size;
  Params18 params;
  Tensor weight, bias;
};

class ReLU6 : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override {
    Tensor y = x.clone();
    for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = std::min(6.f, std::max(0.f, y.data()[i]));
    return y;
  }
  std::string type_name() const override { return "ReLU6"; }
  std::string extra_repr() const override { return "inplace=True"; }
};

class Dropout : public nn::Module {
 public:
  explicit Dropout(float p, uint64_t seed = 0) : p(p), rng_(seed) {}
  Tensor forward(const Tensor& x) override {
    if (!training_ || p == 0.f) return x;
    Tensor y = x.clone();
    for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = rng_.uniform() < p ? 0.f : y.data()[i] / (1 - p);
    return y;
  }
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override {
    char b[64];
    std::snprintf(b, sizeof b, "p=%g, inplace=False", static_cast<double>(p));
    return b;
  }
  float p;

 private:
  Rng rng_;
};

class AdaptiveAvgPool2d : public nn::Module {
 public:
  AdaptiveAvgPool2d(int oh, int ow) : out_h(oh), out_w(ow) {}
  Tensor forward(const Tensor& x) override {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Tensor y = Tensor::empty({N, C, out_h, out_w});
    for (int64_t nc = 0; nc < N * C; ++nc)
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
          const int64_t h0 = i * H / out_h, h1 = ((i + 1) * H + out_h - 1) / out_h;
          const int64_t w0 = j * W / out_w, w1 = ((j + 1) * W + out_w - 1) / out_w;
          double s = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) s += x.data()[(nc * H + h) * W + w];
          y.data()[(nc * out_h + i) * out_w + j] = static_cast<float>(s / double((h1 - h0) * (w1 - w0)));
        }
    return y;
  }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override {
    return "output_size=(" + std::to_string(out_h) + ", " + std::to_string(out_w) + ")";
  }
  int out_h, out_w;
};

}  // namespace sn::models::nn18
