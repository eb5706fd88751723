// onnx_export.h — a ResNet, VGG-16 or MobileNetV2 as an ONNX model, written with the ONNX project's
// own C++ library (Debian's libonnx-dev: its generated protobuf classes, its
// checker and shape inference), so any ONNX runtime can run what scratchnet
// trained.
//
// The graph is the forward pass, module by module, in opset 13:
//   ResNet: input (batch, 3, crop, crop) -> Conv conv1 -> BatchNormalization bn1 -> Relu -> MaxPool
//     -> blocks: Conv, BatchNormalization, Relu ... Add (shortcut: the input, or downsample's Conv + BN) -> Relu
//     -> GlobalAveragePool -> Flatten -> Gemm fc -> logits (batch, classes)
//   VGG-16: features (Conv with bias, Relu, MaxPool) -> AveragePool (adaptive pooling to 7x7 of
//     the crop / 32 map, which must be a multiple of 7: crop 224, 448, ...) -> Flatten ->
//     classifier Gemm Relu Gemm Relu Gemm (dropout: the identity in inference, left out)
//   MobileNetV2: features.0 Conv BatchNormalization Clip(0, 6) -> blocks ([expand,] depthwise
//     Conv with group = channels, project; Add of the input where torchvision adds it) ->
//     features.18 -> GlobalAveragePool -> Flatten -> Gemm classifier.1
// The weights are initializers named as torchvision's state_dict
// ("layer1.0.conv1.weight", "bn1.running_mean", "features.1.conv.0.0.weight"); batch norm
// stays a separate node with the file's statistics (runtimes fuse it). The batch dimension
// is symbolic ("batch"); height and width are the crop size.
//
// What a user needs to feed it is in the model's metadata_props (and, in
// words, its doc_string): "scratchnet.preprocessing" (JSON: channel order,
// scale, mean, std, resize, crop; input[c] = (pixel[order[c]] * scale -
// mean[c]) / std[c] on an RGB image in [0, 255]), "scratchnet.labels" (JSON
// array of class names), "scratchnet.architecture" and "scratchnet.model"
// (the ResNet's options), "scratchnet.metadata" (provenance).
#pragma once
#include <string>

#include "engine/io/weight_file.h"
#include "models/classifier.h"
#include "models/resnet.h"

namespace sn::models {

constexpr int kOnnxOpset = 13;

// Writes `net` (a ResNet, VGG or MobileNetV2: its current weights and batch-norm statistics) with the
// header `meta` (labels, preprocessing, provenance) to `path`, atomically,
// after the ONNX checker and shape inference accepted it (output (batch,
// classes)). Errors name the file.
// A network of another architecture is a user error.
void write_onnx(const std::string& path, const Classifier& net, const io::WeightMeta& meta);

}  // namespace sn::models
