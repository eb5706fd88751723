// zoo.h — every network scratchnet builds, by the architecture name a weight
// file records: resnet18/34/50/101/152 (models/resnet.h), vgg16
// (models/vgg.h), mobilenet_v2 (models/mobilenet_v2.h).
//
// The CLI (`--model`), the experiment and the converters ask here, never for
// a concrete class.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/random.h"
#include "models/classifier.h"

namespace sn::io {
class WeightFile;
}

namespace sn::models {

// Every architecture name, ResNets first.
const std::vector<std::string>& architectures();
bool is_architecture(const std::string& arch);
// "resnet18, resnet34, ..." for messages.
std::string architecture_list();

// The network `arch` with the weight file's "model" options (missing ones
// take torchvision's defaults), initialised as torchvision does from `rng`.
// An unknown name or a bad option is a user error naming it.
std::shared_ptr<Classifier> make_classifier(const std::string& arch, const nlohmann::json& options, Rng& rng);

// Builds the network a weight file describes and loads its tensors; errors name the file and the tensor.
std::shared_ptr<Classifier> load_classifier(const io::WeightFile& file, bool allow_unexpected = false);

// The classifier transfer learning replaces: "fc", "classifier.6" (vgg16), "classifier.1" (mobilenet_v2).
std::string head_name(const std::string& arch);

// The layers `--train-layers` accepts for `arch`, in forward order, the head
// last: a ResNet's conv1 bn1 layer1..layer4 fc; VGG-16's convs features.0 ..
// features.28, classifier.0 classifier.3 classifier.6; MobileNetV2's
// features.0..features.18 and classifier.1.
const std::vector<std::string>& trainable_layers(const std::string& arch);

}  // namespace sn::models
