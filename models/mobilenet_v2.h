// mobilenet_v2.h — MobileNetV2 as in torchvision 0.14
// (`torchvision.models.mobilenet_v2()`), with the same module and parameter
// names, so that torchvision state_dicts load one to one:
//
//   features.0       Conv2dNormActivation: Conv2d(3, 32, 3, stride 2) BatchNorm2d ReLU6
//   features.1..17   InvertedResidual, its layers in .conv:
//                      [expand: Conv2dNormActivation 1x1 + BN + ReLU6, when the expansion is not 1]
//                      depthwise: Conv2dNormActivation 3x3 (groups = channels, stride 1 or 2) + BN + ReLU6
//                      project: Conv2d 1x1, BatchNorm2d (no activation)
//                    plus the input when stride 1 and the channels stay (the residual)
//   features.18      Conv2dNormActivation 1x1 to 1280 + BN + ReLU6
//   classifier       0 Dropout(0.2)  1 Linear(1280, classes)
// The forward pools functionally (adaptive_avg_pool2d to 1x1, flatten) before
// the classifier, as torchvision's does.
//
// Transfer learning replaces classifier.1: the feature stages are
// features.0..18, global_avg_pool and classifier.0 (1280 features). The
// dropout follows the module's mode as in PyTorch: active after model.train()
// (the textbook's whole-model train mode), identity in eval.
//
// Frozen inference on the CPU (predict, evaluation, a frozen backbone's
// features) takes feature_snapshot(): models/fused_mobilenet_v2.h, with batch
// norm folded into the convs, bias and ReLU6 in the conv kernels, a blocked
// depthwise kernel and the residual added in the project conv's epilogue.
//
// Options: width_mult and round_nearest as torchvision's; last_channel (0 =
// torchvision's rule, 1280 * max(1, width_mult) rounded) lets tests shrink
// the last conv and keep golden-test weights small.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "engine/random.h"
#include "models/classifier.h"

namespace sn::models {

struct MobileNetV2Config {
  int num_classes = 1000;
  double width_mult = 1.0;
  int round_nearest = 8;
  int last_channel = 0;  // 0: torchvision's
  double dropout = 0.2;
  double bn_eps = 1e-5;

  nlohmann::json to_json() const;
  static MobileNetV2Config from_json(const nlohmann::json& model);
};

// torchvision's _make_divisible: v rounded to a multiple of `divisor`, never
// below it nor more than 10% below v.
int make_divisible(double v, int divisor);

// The output channels of features.0 .. features.17 (the stem and each block).
std::vector<int> block_channels(const MobileNetV2Config& cfg);

// Conv2d + BatchNorm2d + ReLU6 (torchvision's Conv2dNormActivation), a Sequential named "0" "1" "2".
class ConvBNReLU6 : public nn::Sequential {
 public:
  ConvBNReLU6(int in, int out, int kernel, int stride, int groups, double eps, Rng& rng);
  std::string type_name() const override { return "Conv2dNormActivation"; }
};

class InvertedResidual : public nn::Module {
 public:
  InvertedResidual(int in, int out, int stride, int expand_ratio, double eps, Rng& rng);
  Tensor forward(const Tensor& x) override;  // (N,in,H,W) -> (N,out,H/stride,W/stride)
  std::string type_name() const override { return "InvertedResidual"; }

  std::shared_ptr<nn::Sequential> conv;
  bool use_res_connect;
};

class MobileNetV2 : public Classifier {
 public:
  // Weights initialised as torchvision does (convs kaiming normal fan_out;
  // batch norm 1 and 0; linear N(0, 0.01), bias 0), drawn from `rng`.
  MobileNetV2(const MobileNetV2Config& cfg, Rng& rng);

  Tensor forward(const Tensor& x) override;  // (N,3,H,W) -> (N,num_classes) logits
  std::string type_name() const override { return "MobileNetV2"; }

  const MobileNetV2Config& config() const { return cfg_; }

  // Classifier
  std::string architecture() const override { return "mobilenet_v2"; }
  nlohmann::json options() const override { return cfg_.to_json(); }
  int num_classes() const override { return cfg_.num_classes; }
  // FeatureExtractor
  const std::vector<std::string>& feature_stages() const override { return stages_; }
  int num_features() const override { return last_channel_; }
  std::string head_name() const override { return "classifier.1"; }
  // Inference-mode batch norm in float32 on the CPU: models::FusedMobileNetV2
  // (folded batch norm, blocked layout, fused_mobilenet_v2.h). Null for
  // batch_stats (training-mode batch norm: not implemented, the plain stages
  // run), for bf16 (no bfloat16 path) and for a model on a GPU.
  std::shared_ptr<const FeatureSnapshot> feature_snapshot(bool batch_stats, bool bf16) const override;

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Sequential> classifier;

 private:
  MobileNetV2Config cfg_;
  int last_channel_ = 0;
  std::vector<std::string> stages_;
};

}  // namespace sn::models
