// onnx_export.h — a ResNet as an ONNX model, written with the ONNX project's
// own C++ library (Debian's libonnx-dev: its generated protobuf classes, its
// checker and shape inference), so any ONNX runtime can run what scratchnet
// trained.
//
// The graph is the forward pass, module by module, in opset 13:
//   input (batch, 3, crop, crop) -> Conv conv1 -> BatchNormalization bn1 -> Relu -> MaxPool
//   -> blocks: Conv, BatchNormalization, Relu ... Add (shortcut: the input, or downsample's Conv + BN) -> Relu
//   -> GlobalAveragePool -> Flatten -> Gemm fc -> logits (batch, classes)
// The weights are initializers named as torchvision's state_dict
// ("layer1.0.conv1.weight", "bn1.running_mean"); batch norm stays a separate
// node with the file's statistics (runtimes fuse it). The batch dimension is
// symbolic ("batch"); height and width are the crop size.
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
#include "models/resnet.h"

namespace sn::models {

constexpr int kOnnxOpset = 13;

// Writes `net` (its current weights and batch-norm statistics) with the
// header `meta` (labels, preprocessing, provenance) to `path`, atomically,
// after the ONNX checker and shape inference accepted it (output (batch,
// classes)). Errors name the file.
void write_onnx(const std::string& path, const ResNet& net, const io::WeightMeta& meta);

}  // namespace sn::models
