// classifier.h — what every ImageNet-style network of models/ is: a module, a
// feature extractor for transfer learning, and the architecture name plus
// options a weight file records ("model" object, weights/FORMAT.md).
//
// models::ResNet, models::VGG and models::MobileNetV2 derive from it; the
// registry that builds one by name is models/zoo.h.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "engine/nn/module.h"
#include "models/feature_extractor.h"

namespace sn::models {

class Classifier : public nn::Module, public FeatureExtractor {
 public:
  // "resnet50", "vgg16", "mobilenet_v2", ...: the weight file's architecture.
  virtual std::string architecture() const = 0;
  // The weight file's "model" object: the options that rebuild this network (zoo.h make_classifier).
  virtual nlohmann::json options() const = 0;
  virtual int num_classes() const = 0;

  // The classifier after the feature stages: head_name()'s module on
  // (N, num_features()) -> (N, num_classes()) logits. With a feature snapshot
  // this gives the whole network's logits on its fast path:
  //   head_forward(feature_snapshot(false, bf16)->features(x)) == forward(x) in eval mode.
  Tensor head_forward(const Tensor& features) const;

  // FeatureExtractor
  nn::Module& network() override { return *this; }
  const nn::Module& network() const override { return *this; }
};

}  // namespace sn::models
