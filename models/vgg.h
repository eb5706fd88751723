// vgg.h — VGG-16 as in torchvision 0.14 (`torchvision.models.vgg16()`, no batch
// norm), with the same module and parameter names, so that torchvision
// state_dicts load one to one:
//
//   features.N   13 Conv2d(3x3, padding 1) + ReLU, a MaxPool2d(2, 2) after each of the
//                5 stages (64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M):
//                convs at N = 0 2 5 7 10 12 14 17 19 21 24 26 28, pools at 4 9 16 23 30
//   avgpool      AdaptiveAvgPool2d((7, 7))
//   classifier   0 Linear(512*7*7, 4096)  1 ReLU  2 Dropout(0.5)
//                3 Linear(4096, 4096)     4 ReLU  5 Dropout(0.5)  6 Linear(4096, classes)
//
// The forward flattens between avgpool and classifier, as torchvision's does.
// Transfer learning replaces classifier.6: the feature stages run up to
// classifier.5 and give 4096 features. Dropout follows the module's mode as in
// PyTorch: active after model.train() (the textbook's whole-model train mode,
// where the frozen classifier.2 and .5 then drop), identity in eval.
//
// Its fast inference path is models::FusedVGG (fused_vgg.h): the convs on the
// blocked layout (Winograd, bias and ReLU fused), behind feature_snapshot(),
// which predict, evaluation and the transfer model's frozen backbone use.
//
// Options beyond torchvision's, for tests: width (64) the channels of the
// first stage (stages w 2w 4w 8w 8w) and hidden (4096) the classifier's width:
// reduced values keep golden-test weights small.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "engine/random.h"
#include "models/classifier.h"

namespace sn::models {

struct VGGConfig {
  int num_classes = 1000;
  int width = 64;
  int hidden = 4096;
  double dropout = 0.5;

  nlohmann::json to_json() const;
  static VGGConfig from_json(const nlohmann::json& model);
};

class VGG : public Classifier {
 public:
  // Weights initialised as torchvision does (convs kaiming normal fan_out,
  // bias 0; linears N(0, 0.01), bias 0), drawn from `rng`.
  VGG(const VGGConfig& cfg, Rng& rng);

  Tensor forward(const Tensor& x) override;  // (N,3,H,W) -> (N,num_classes) logits
  std::string type_name() const override { return "VGG"; }

  const VGGConfig& config() const { return cfg_; }

  // Classifier
  std::string architecture() const override { return "vgg16"; }
  nlohmann::json options() const override { return cfg_.to_json(); }
  int num_classes() const override { return cfg_.num_classes; }
  // FeatureExtractor
  const std::vector<std::string>& feature_stages() const override { return stages_; }
  int num_features() const override { return cfg_.hidden; }
  std::string head_name() const override { return "classifier.6"; }
  // models::FusedVGG (fused_vgg.h) on the CPU. Null where it does not apply:
  // batch_stats (training mode) with a dropout probability above 0 (classifier.2
  // and .5 then drop: the plain stages run), or the model on a GPU.
  std::shared_ptr<const FeatureSnapshot> feature_snapshot(bool batch_stats, bool bf16) const override;

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Sequential> classifier;

 private:
  VGGConfig cfg_;
  std::vector<std::string> stages_;
};

}  // namespace sn::models
