// experiment/backbone.h — the pretrained network a run starts from.
#pragma once
#include <memory>
#include <string>

#include "engine/io/weight_file.h"
#include "models/classifier.h"

namespace sn::train {

struct Backbone {
  std::shared_ptr<models::Classifier> net;  // with its ImageNet classifier, which the experiment does not run
  io::Preprocessing preprocessing;          // from the weight file
  std::string path;                         // the weight file
  std::string hash;                         // hash_file(path): checkpoints record it
};

// The weight file: `weights` if given, else the converted ImageNet weights of
// `model` (fetched and converted on first use for resnet50).
std::string resolve_weights(const std::string& model, const std::string& weights);

// Loads the file, checking that it holds `model` ("weights/x.snw holds a
// resnet18, but --model is resnet50"); errors name the file.
Backbone load_backbone(const std::string& model, const std::string& path);

}  // namespace sn::train
