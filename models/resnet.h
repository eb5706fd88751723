// resnet.h — ResNet-18/34/50/101/152 as in torchvision, with the same module
// and parameter names, so that torchvision state_dicts load one to one:
//
//   conv1 bn1 relu maxpool layer1..layer4 avgpool fc
//   layerK.I = a BasicBlock  (conv1 bn1 relu conv2 bn2 [downsample.0 downsample.1])
//           or a Bottleneck  (conv1 bn1 conv2 bn2 conv3 bn3 relu [downsample.0 downsample.1])
//
// Options beyond torchvision's defaults, for other weight sources and tests:
//   block_stride  where a downsampling Bottleneck strides: "v1.5" in its 3x3 conv
//                 (torchvision), "v1" in its first 1x1 conv (the paper, Keras)
//   bn_eps        batch-norm epsilon (PyTorch 1e-5, Keras 1e-3)
//   width         channels of the stem and first stage (64); stages use w, 2w, 4w, 8w.
//                 Reduced widths keep golden-test weights small.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "engine/random.h"
#include "models/classifier.h"

namespace sn::io {
class WeightFile;
}

namespace sn::models {

enum class BlockStride { V1, V1_5 };

struct ResNetConfig {
  std::string arch = "resnet50";  // resnet18 | resnet34 | resnet50 | resnet101 | resnet152
  int num_classes = 1000;
  int width = 64;
  BlockStride block_stride = BlockStride::V1_5;
  double bn_eps = 1e-5;

  // The "model" object of a weight file's header (weights/FORMAT.md).
  nlohmann::json to_json() const;
  static ResNetConfig from_json(const std::string& arch, const nlohmann::json& model);
};

// Two 3x3 convs; the first strides when the block downsamples. Output channels = planes.
class BasicBlock : public nn::Module {
 public:
  static constexpr int kExpansion = 1;
  BasicBlock(int inplanes, int planes, int stride, const ResNetConfig& cfg, Rng& rng);
  Tensor forward(const Tensor& x) override;  // (N,inplanes,H,W) -> (N,planes,H/stride,W/stride)
  std::string type_name() const override { return "BasicBlock"; }

  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Sequential> downsample;  // null when the shortcut is the identity
};

// 1x1 (reduce to planes) -> 3x3 -> 1x1 (expand to 4*planes).
class Bottleneck : public nn::Module {
 public:
  static constexpr int kExpansion = 4;
  Bottleneck(int inplanes, int planes, int stride, const ResNetConfig& cfg, Rng& rng);
  Tensor forward(const Tensor& x) override;  // (N,inplanes,H,W) -> (N,4*planes,H/stride,W/stride)
  std::string type_name() const override { return "Bottleneck"; }

  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Sequential> downsample;
};

// A FeatureExtractor: stages conv1 bn1 relu maxpool layer1..layer4 avgpool,
// head fc; its fast inference path is models::FusedResNet (fused_resnet.h).
class ResNet : public Classifier {
 public:
  // Weights are initialised as torchvision does (convs: kaiming normal, fan_out;
  // batch norm: 1 and 0; fc: PyTorch's Linear default), drawn from `rng`.
  ResNet(const ResNetConfig& cfg, Rng& rng);

  Tensor forward(const Tensor& x) override;  // (N,3,H,W) -> (N,num_classes) logits
  Tensor features(const Tensor& x);          // (N,3,H,W) -> (N,num_features): up to avgpool, flattened
  std::string type_name() const override { return "ResNet"; }

  const ResNetConfig& config() const { return cfg_; }
  int num_features() const override { return num_features_; }  // 512 (ResNet-18/34), 2048 (ResNet-50+) at width 64
  // Swap the classifier, e.g. for Linear(num_features(), 2) in transfer learning.
  void replace_fc(std::shared_ptr<nn::Linear> head);
  void reset_classifier(int num_classes, Rng& rng);  // a fresh Linear(num_features(), num_classes)

  // Classifier
  std::string architecture() const override { return cfg_.arch; }
  nlohmann::json options() const override { return cfg_.to_json(); }
  int num_classes() const override { return cfg_.num_classes; }
  // FeatureExtractor
  const std::vector<std::string>& feature_stages() const override;
  std::string head_name() const override { return "fc"; }
  std::shared_ptr<const FeatureSnapshot> feature_snapshot(bool batch_stats, bool bf16) const override;

  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::MaxPool2d> maxpool;
  std::shared_ptr<nn::Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Linear> fc;

 private:
  ResNetConfig cfg_;
  int num_features_ = 0;
};

// Shorthands with torchvision's defaults.
std::shared_ptr<ResNet> resnet18(int num_classes = 1000, Rng* rng = nullptr);
std::shared_ptr<ResNet> resnet50(int num_classes = 1000, Rng* rng = nullptr);

// Builds the model a weight file describes (architecture + "model" options)
// and loads its tensors; errors name the file and the tensor.
std::shared_ptr<ResNet> load_resnet(const io::WeightFile& file, bool allow_unexpected = false);

// Blocks per stage, and whether the architecture uses Bottleneck blocks.
struct ResNetLayout {
  std::vector<int> blocks;
  bool bottleneck;
};
ResNetLayout resnet_layout(const std::string& arch);  // an unknown name is an error listing the known ones

}  // namespace sn::models
