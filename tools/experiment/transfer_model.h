// experiment/transfer_model.h — a pretrained backbone plus a new head.
//
// The backbone is any models::FeatureExtractor (models/feature_extractor.h): it
// names its feature stages and its head. It keeps its own 1000-class head (it is
// simply not run); the new head Linear(features, classes) takes the old head's
// name in checkpoints ("fc" for a ResNet, as in the textbook's
// `model.fc = nn.Linear(...)`; "classifier.6" for VGG-16, "classifier.1" for
// MobileNetV2). The forward pass walks the backbone's stages (a ResNet's:
// conv1 bn1 relu maxpool layer1 layer2 layer3 layer4 avgpool; VGG-16's run up
// to classifier.5, MobileNetV2's up to classifier.0, with the flatten or
// pooling steps between, models/feature_extractor.h) -> flatten -> head, and
// runs the frozen stages before the first trained one under NoGradGuard: no
// graph, no saved activations, as cheap as inference.
//
// Dropout in the frozen stages (VGG-16's classifier.2 and .5, MobileNetV2's
// classifier.0) follows the module's mode, as in PyTorch: in the textbook's
// default training phase the whole backbone is in training mode (for its
// batch norm), so those dropouts drop; with --freeze-bn the backbone is in
// inference mode and they pass everything through. Feature caching computes
// the features once in inference mode, i.e. without dropout.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/loader.h"
#include "engine/nn/layers.h"
#include "engine/nn/module.h"
#include "models/feature_extractor.h"
#include "tools/experiment/config.h"

namespace sn::train {

class TransferModel {
 public:
  // Freezes the backbone, then unfreezes the layers of cfg.train_layers; the
  // head is initialised from `rng` as PyTorch initialises a Linear.
  TransferModel(std::shared_ptr<models::FeatureExtractor> backbone, int classes, const TrainConfig& cfg, Rng& rng);

  // x (N,3,H,W) -> (N, features): the backbone up to the average pool, flattened.
  // On the CPU, whenever no gradient can reach the backbone, this runs the
  // backbone's feature snapshot instead (for a ResNet, models::FusedResNet:
  // blocked layout, direct convs, equal up to float rounding), when it has one: with batch norm folded into the convs
  // when the whole backbone is in inference mode (evaluation; --freeze-bn training of fc alone), or in its
  // batch-statistics mode when batch norm trains and only fc does (the textbook's default), which moves the running
  // statistics exactly as the plain training-mode forward does.
  Tensor features(const Tensor& x);
  // (N, features) -> (N, classes)
  Tensor head(const Tensor& f) { return head_->forward(f); }
  Tensor forward(const Tensor& x) { return head(features(x)); }

  // Training phase: the backbone's batch norm in training mode unless
  // --freeze-bn, fine-tuned layers in training mode. Evaluation: all in inference mode.
  void set_phase(bool training);

  // The parameters the optimizer updates, named as in a PyTorch state_dict ("fc.weight", "layer4.0.conv1.weight").
  nn::NamedTensors trainable() const;
  // What a checkpoint stores: the trainable tensors, the running statistics of
  // trained layers, and every backbone running statistic when batch norm trains.
  nn::NamedTensors checkpoint_state() const;
  // Copies checkpoint tensors in by name; an unknown name or a wrong shape is an error naming it.
  void load_checkpoint_state(const nn::NamedTensors& state, const std::string& source);

  void to(Device d);
  nn::Module& backbone() { return *net_; }
  nn::Linear& head_module() { return *head_; }
  const std::string& head_name() const { return head_name_; }
  int num_features() const { return features_; }
  int num_classes() const { return classes_; }

 private:
  std::shared_ptr<models::FeatureExtractor> backbone_;
  nn::Module* net_;                  // backbone_->network()
  std::vector<std::string> stages_;  // backbone_->feature_stages()
  std::string head_name_;            // backbone_->head_name(): the new head's name in checkpoints
  std::shared_ptr<nn::Linear> head_;
  TrainConfig cfg_;
  int features_, classes_;
  size_t first_trained_stage_;       // index into the stage list; stages before it run without grad
  bool backbone_inference_ = false;  // set_phase: every backbone module in inference mode
  // The snapshot features() uses, in the batch-norm mode of the current
  // phase; dropped whenever what it copied may change (a phase in another
  // mode or one that trains backbone weights, load_checkpoint_state, to()).
  std::shared_ptr<const models::FeatureSnapshot> fused_;
  bool fused_batch_stats_ = false;  // the mode fused_ was made in
  bool use_fused(const Tensor& x) const;
};

// The features of every image the loader yields (one epoch, no graph), as
// rows in the dataset's order: (dataset size, num_features) on the CPU.
// after_batch(images done) runs after each batch (progress, stop signals).
Tensor features_of_split(TransferModel& model, data::DataLoader& loader, Device device,
                         const std::function<void(int64_t)>& after_batch);

}  // namespace sn::train
