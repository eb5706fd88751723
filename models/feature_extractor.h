// feature_extractor.h — what transfer learning asks of a pretrained classifier:
// its feature extractor, as named stages, and the name of its head.
//
// A transfer model (tools/experiment/transfer_model.h) keeps the network's
// feature stages, freezes them (but the ones it fine-tunes), and puts a new head
// where the network's own classifier was. It asks the network through this
// interface, never for a concrete class: models::ResNet implements it
// (stages conv1 bn1 relu maxpool layer1..layer4 avgpool, head fc), models::VGG
// (features.0..30 avgpool flatten classifier.0..5, head classifier.6) and
// models::MobileNetV2 (features.0..18 global_avg_pool classifier.0, head
// classifier.1).
//
// A stage is a submodule name, dotted where it is nested ("features.3",
// "classifier.0"), or one of two parameterless steps a network's forward
// takes between modules (run_feature_stage below):
//   "flatten"          (N,C,H,W) -> (N, C*H*W)  (VGG: between avgpool and classifier.0)
//   "global_avg_pool"  (N,C,H,W) -> (N, C)     (MobileNetV2's functional adaptive_avg_pool2d + flatten)
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/nn/module.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace sn::models {

// An inference-only copy of a network's feature stages on a faster path (e.g.
// models::FusedResNet, models::FusedVGG, models::FusedMobileNetV2: blocked
// layout, direct and Winograd convolutions). It copies the weights when made:
// a change to the network afterwards is not seen.
class FeatureSnapshot {
 public:
  virtual ~FeatureSnapshot() = default;
  virtual Tensor features(const Tensor& x) const = 0;  // (N,3,H,W) -> (N, features)
};

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;

  // The whole network as one module: parameters, buffers, train/eval, to(), state_dict names.
  virtual nn::Module& network() = 0;
  virtual const nn::Module& network() const = 0;
  // The stages from the input to the pooled features, in forward order: names of
  // submodules of network() or the functional steps above; running them in
  // turn (run_feature_stage) and flattening gives (N, features).
  virtual const std::vector<std::string>& feature_stages() const = 0;
  virtual int num_features() const = 0;
  // The submodule name of the classifier that follows the features ("fc", "classifier.6").
  virtual std::string head_name() const = 0;

  // The feature stages on a faster inference path, or null where there is none
  // (the stages then run one by one). batch_stats: batch norm normalizes with
  // the batch statistics and moves the running ones (training mode); otherwise
  // it is folded into the convolutions (inference mode). bf16: bfloat16 arithmetic.
  virtual std::shared_ptr<const FeatureSnapshot> feature_snapshot(bool /*batch_stats*/, bool /*bf16*/) const {
    return nullptr;
  }
};

// The functional stages: no module, no parameters, nothing to train.
inline bool is_functional_stage(const std::string& stage) { return stage == "flatten" || stage == "global_avg_pool"; }

// Runs one feature stage of `net` on x.
inline Tensor run_feature_stage(const nn::Module& net, const std::string& stage, const Tensor& x) {
  if (stage == "flatten") return flatten(x, 1);
  if (stage == "global_avg_pool") return flatten(adaptive_avg_pool2d_1x1(x), 1);
  nn::Module* m = net.submodule(stage);
  SN_CHECK(m, "the network has no feature stage '", stage, "'");
  return m->forward(x);
}

}  // namespace sn::models
