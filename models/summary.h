// summary.h — a network (ResNet, VGG-16, MobileNetV2) layer by layer, as
// torchinfo's `summary(model, (1, 3, 224, 224))` shows a PyTorch model: every
// module in registration order, nested, with its output shape for one input
// image, its parameter count (a container's is the total below it) and whether
// its parameters train; then the totals and the multiply-adds of the
// convolutions (grouped: in_channels / groups per output) and the classifier.
//
// Output shapes are computed from each layer's settings (kernel, stride,
// padding, features), nothing is run. A block's `downsample` branch starts
// from the block's input, as in the forward pass.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/shape.h"
#include "models/mobilenet_v2.h"
#include "models/resnet.h"
#include "models/vgg.h"

namespace sn::models {

struct SummaryRow {
  int depth = 0;       // 0: the model itself
  std::string name;    // state_dict prefix: "layer1.0.conv1"
  std::string type;    // "Conv2d", "Bottleneck", ...
  Shape output;        // for a (1, 3, H, W) input
  int64_t params = 0;  // this module and everything below it
  int64_t trainable = 0;
  bool leaf = false;
};

struct ModelSummary {
  std::vector<SummaryRow> rows;
  Shape input;
  int64_t total = 0, trainable = 0;
  int64_t mult_adds = 0;  // convolutions and linear layers, for one image

  // torchinfo's layout (max_depth < 0: every level).
  std::string text(int max_depth = -1) const;
  nlohmann::json json() const;
};

// The summary of `net` for a (1, 3, size, size) input. Trainable means
// requires_grad, as the model is set up (a fresh model: everything trains).
ModelSummary summarize(const nn::Module& net, int size = 224);

// "25,557,032"
std::string with_commas(int64_t n);

}  // namespace sn::models
