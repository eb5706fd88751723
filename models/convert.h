// convert.h — turn other frameworks' weights into scratchnet weight files.
//
// Both converters return torchvision-named tensors in state_dict order,
// checked name by name and shape by shape against the ResNet they describe,
// plus the header (architecture, options, preprocessing, provenance). No
// Python is involved: the experiment's setup step runs them from C++.
//
//  * torchvision .pth (convert_pth.cpp): a ResNet, VGG-16 or MobileNetV2
//    (models/zoo.h), recognised by its names; names already match; the int64
//    num_batches_tracked counters of batch norm are dropped (scratchnet tensors
//    are float32, and the counter only matters with momentum=None).
//  * Keras ResNet-50 as a TF.js layers model (convert_keras.cpp): layer names
//    mapped to torchvision's, kernels HWIO -> OIHW, the dense kernel
//    [in, out] -> [out, in], every conv bias folded into the following batch
//    norm, stride placement and epsilon read from the topology and recorded.
#pragma once
#include <string>
#include <vector>

#include "engine/io/tfjs_reader.h"
#include "engine/io/weight_file.h"
#include "models/resnet.h"

namespace sn::models {

struct Converted {
  io::WeightMeta meta;
  nn::NamedTensors tensors;        // torchvision names, state_dict order
  std::vector<std::string> notes;  // what the converter changed or dropped, for the user
};

struct PthOptions {
  std::string arch;  // "" = infer from the tensor names (resnet18/34/50/101/152, vgg16, mobilenet_v2)
  BlockStride block_stride = BlockStride::V1_5;  // torchvision's (ResNets only)
  double bn_eps = 1e-5;                          // PyTorch's default (ResNets and MobileNetV2)
};
Converted convert_pth(const std::string& path, const PthOptions& options = {});

// A Keras ResNet-50 (old "res2a_branch2a"/"bn2a_branch2a" or new "conv2_block1_1_conv"
// layer names) as read by io::read_tfjs.
Converted convert_keras_resnet(const io::TfjsModel& model);

// Class names from a JSON file: an array ["tench", ...] or an object {"0": "tench", ...}.
std::vector<std::string> read_labels(const std::string& path);

// Blocks per stage (layer1..layer4) that torchvision-named tensors describe:
// one more than the largest block index of "layer<s>.<i>.*" (0 for a stage without any).
std::vector<int> blocks_per_stage(const std::map<std::string, Tensor>& tensors);

// Orders `tensors` as the model's state_dict and checks every name and shape;
// an error names the source and lists what is missing, extra or misshapen.
nn::NamedTensors match_model(const ResNetConfig& cfg, const std::map<std::string, Tensor>& tensors,
                             const std::string& source);
// The same against any network (`arch` names it in errors).
nn::NamedTensors match_model(const nn::Module& model, const std::string& arch,
                             const std::map<std::string, Tensor>& tensors, const std::string& source);

// The options of the VGG-16 ("vgg16") or MobileNetV2 ("mobilenet_v2") that torchvision-named
// tensors describe (MobileNetV2's width from its channels, `bn_eps` given), and the tensors
// in its state_dict order, checked as match_model does. The .pth and ONNX importers share it.
nn::NamedTensors match_backbone(const std::string& arch, const std::map<std::string, Tensor>& tensors,
                                const std::string& source, double bn_eps, nlohmann::json& options);

}  // namespace sn::models
