// Keras ResNet (TF.js layers model) -> torchvision-named .snw.
//
// Keras and torchvision build the same network with different conventions:
//   layer names   res3a_branch2b / bn3a_branch2b (keras_applications, old)
//                 conv3_block1_2_conv / conv3_block1_2_bn (tf.keras, new)
//                   -> layer2.0.conv2 / layer2.0.bn2
//   conv kernels  HWIO (kh, kw, in, out)       -> OIHW (out, in, kh, kw)
//   dense kernel  [in, out]                     -> fc.weight [out, in]
//   conv bias     every conv has one            -> folded into the batch norm after it
//   BN epsilon    1e-3                          -> recorded in the header (model.bn_eps)
//   strides       on the first 1x1 conv ("v1") -> recorded (model.block_stride)
//   input         BGR, 0-255, minus the ImageNet mean in BGR, no std -> recorded (preprocessing)
#include <map>
#include <regex>

#include "engine/check.h"
#include "models/convert.h"

namespace sn::models {

namespace {

// A Keras layer name -> the torchvision module it becomes ("" if it has no weights we know).
std::string torch_module(const std::string& keras) {
  static const std::regex old_conv(R"(res([2-5])([a-z])_branch(1|2a|2b|2c))");
  static const std::regex old_bn(R"(bn([2-5])([a-z])_branch(1|2a|2b|2c))");
  static const std::regex new_layer(R"(conv([2-5])_block(\d+)_([0-3])_(conv|bn))");
  std::smatch m;
  auto block = [](int stage, int index) {
    return "layer" + std::to_string(stage - 1) + "." + std::to_string(index) + ".";
  };
  if (keras == "conv1" || keras == "conv1_conv") return "conv1";
  if (keras == "bn_conv1" || keras == "conv1_bn") return "bn1";
  if (keras == "fc1000" || keras == "probs" || keras == "predictions") return "fc";
  const bool is_old_conv = std::regex_match(keras, m, old_conv);
  if (is_old_conv || std::regex_match(keras, m, old_bn)) {
    const std::string prefix = block(std::stoi(m[1]), m[2].str()[0] - 'a');
    const std::string branch = m[3];
    if (branch == "1") return prefix + (is_old_conv ? "downsample.0" : "downsample.1");
    const std::string k = std::to_string(branch[1] - 'a' + 1);  // 2a -> 1, 2b -> 2, 2c -> 3
    return prefix + (is_old_conv ? "conv" : "bn") + k;
  }
  if (std::regex_match(keras, m, new_layer)) {
    const std::string prefix = block(std::stoi(m[1]), std::stoi(m[2]) - 1);
    const std::string k = m[3], kind = m[4];
    if (k == "0") return prefix + (kind == "conv" ? "downsample.0" : "downsample.1");
    return prefix + kind + k;
  }
  return "";
}

// The batch norm that follows a torchvision conv module.
std::string bn_after(const std::string& conv) {
  if (conv.size() >= 12 && conv.compare(conv.size() - 12, 12, "downsample.0") == 0)
    return conv.substr(0, conv.size() - 1) + "1";
  const size_t dot = conv.rfind('.');
  const std::string last = conv.substr(dot == std::string::npos ? 0 : dot + 1);
  return conv.substr(0, conv.size() - last.size()) + "bn" + last.substr(4);  // conv2 -> bn2, conv1 -> bn1
}

// (kh, kw, in, out) -> (out, in, kh, kw)
Tensor hwio_to_oihw(const Tensor& k) {
  const int64_t H = k.size(0), W = k.size(1), I = k.size(2), O = k.size(3);
  Tensor out = Tensor::empty({O, I, H, W});
  const float* src = k.data();
  float* dst = out.data();
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w)
      for (int64_t i = 0; i < I; ++i)
        for (int64_t o = 0; o < O; ++o) dst[((o * I + i) * H + h) * W + w] = src[((h * W + w) * I + i) * O + o];
  return out;
}

Tensor transpose2d(const Tensor& k) {  // (in, out) -> (out, in)
  const int64_t I = k.size(0), O = k.size(1);
  Tensor out = Tensor::empty({O, I});
  for (int64_t i = 0; i < I; ++i)
    for (int64_t o = 0; o < O; ++o) out.data()[o * I + i] = k.data()[i * O + o];
  return out;
}

// What the topology says about each layer we convert.
struct LayerInfo {
  std::string class_name;
  int stride = 1;
  double epsilon = 0;
  std::string activation;
  std::string input;  // name of the (first) inbound layer
};

std::map<std::string, LayerInfo> read_topology(const nlohmann::json& topo, const std::string& path) {
  std::map<std::string, LayerInfo> out;
  const nlohmann::json* layers = nullptr;
  if (topo.contains("model_config") && topo["model_config"].contains("config"))
    layers = &topo["model_config"]["config"]["layers"];
  SN_USER_CHECK(layers && layers->is_array(), path, ": modelTopology has no model_config.config.layers");
  for (const auto& l : *layers) {
    LayerInfo info;
    info.class_name = l.at("class_name").get<std::string>();
    const auto& c = l.at("config");
    if (c.contains("strides")) info.stride = c["strides"][0].get<int>();
    if (c.contains("epsilon")) info.epsilon = c["epsilon"].get<double>();
    if (c.contains("activation")) info.activation = c["activation"].get<std::string>();
    const auto& in = l.value("inbound_nodes", nlohmann::json::array());
    if (!in.empty() && !in[0].empty()) info.input = in[0][0][0].get<std::string>();
    out[l.at("name").get<std::string>()] = info;
  }
  return out;
}

}  // namespace

Converted convert_keras_resnet(const io::TfjsModel& model) {
  const std::string& path = model.path;
  const auto layers = read_topology(model.topology, path);
  Converted c;

  // 1. Rename and re-layout; keep conv biases and the conv -> layer map for folding.
  std::map<std::string, Tensor> t;
  std::map<std::string, Tensor> conv_bias;      // torch conv module -> its Keras bias
  std::map<std::string, std::string> keras_of;  // torch module -> Keras layer
  for (const auto& [name, value] : model.weights) {
    const size_t slash = name.find('/');
    SN_USER_CHECK(slash != std::string::npos, path, ": weight '", name, "' is not named <layer>/<param>");
    const std::string layer = name.substr(0, slash), param = name.substr(slash + 1);
    const std::string mod = torch_module(layer);
    SN_USER_CHECK(!mod.empty(), path, ": weight '", name, "' belongs to layer '", layer,
                  "', which is not part of a Keras ResNet");
    auto li = layers.find(layer);
    SN_USER_CHECK(li != layers.end(), path, ": weight '", name, "' has no layer '", layer, "' in the topology");
    keras_of[mod] = layer;
    const std::string& cls = li->second.class_name;
    if (cls == "Conv2D" && param == "kernel") {
      SN_USER_CHECK(value.ndim() == 4, path, ": '", name, "' should be a 4-d HWIO kernel, got ",
                    to_string(value.shape()));
      t[mod + ".weight"] = hwio_to_oihw(value);
    } else if (cls == "Conv2D" && param == "bias") {
      conv_bias[mod] = value;
    } else if (cls == "Dense" && param == "kernel") {
      SN_USER_CHECK(value.ndim() == 2, path, ": '", name, "' should be a 2-d [in, out] kernel");
      t[mod + ".weight"] = transpose2d(value);
    } else if (cls == "Dense" && param == "bias") {
      t[mod + ".bias"] = value;
    } else if (cls == "BatchNormalization") {
      static const std::map<std::string, std::string> bn = {
          {"gamma", "weight"}, {"beta", "bias"}, {"moving_mean", "running_mean"}, {"moving_variance", "running_var"}};
      auto it = bn.find(param);
      SN_USER_CHECK(it != bn.end(), path, ": unknown batch-norm parameter '", name, "'");
      t[mod + "." + it->second] = value;
    } else {
      SN_USER_FAIL(path, ": weight '", name, "' of a ", cls, " layer is not part of a Keras ResNet");
    }
  }

  // 2. Fold each conv bias into the batch norm that reads the conv's output:
  //    BN(conv(x) + b) = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
  //                    = BN'(conv(x))  with  mean' = mean - b.
  for (const auto& [conv, b] : conv_bias) {
    const std::string bn = bn_after(conv);
    auto mean = t.find(bn + ".running_mean");
    SN_USER_CHECK(mean != t.end() && keras_of.count(bn), path, ": conv '", keras_of[conv],
                  "' has a bias but no batch norm (", bn, ") to fold it into");
    SN_USER_CHECK(layers.at(keras_of[bn]).input == keras_of[conv], path, ": batch norm '", keras_of[bn],
                  "' does not read conv '", keras_of[conv], "': cannot fold the conv's bias");
    SN_USER_CHECK(b.numel() == mean->second.numel(), path, ": bias of '", keras_of[conv], "' and mean of '",
                  keras_of[bn], "' differ in size");
    Tensor folded = mean->second.clone();
    for (int64_t i = 0; i < folded.numel(); ++i) folded.data()[i] -= b.data()[i];
    mean->second = folded;
  }
  c.notes.push_back("folded " + std::to_string(conv_bias.size()) + " conv biases into batch-norm running means");

  // 3. The configuration, read from the topology rather than assumed.
  ResNetConfig cfg;
  const std::vector<int> blocks = blocks_per_stage(t);
  std::smatch m;
  cfg.arch = "";
  for (const char* arch : {"resnet50", "resnet101", "resnet152"})
    if (resnet_layout(arch).blocks == blocks) cfg.arch = arch;
  SN_USER_CHECK(!cfg.arch.empty(), path, ": blocks per stage ", blocks[0], ",", blocks[1], ",", blocks[2], ",",
                blocks[3], " match no bottleneck ResNet");
  SN_USER_CHECK(t.count("conv1.weight") && t.count("fc.weight"), path, ": no conv1 or no dense classifier");
  cfg.width = static_cast<int>(t["conv1.weight"].size(0));
  cfg.num_classes = static_cast<int>(t["fc.weight"].size(0));
  // Where does the first block of stage 3 (layer2.0) stride: 1x1 (v1) or 3x3 (v1.5)?
  const int s1 = layers.at(keras_of.at("layer2.0.conv1")).stride, s2 = layers.at(keras_of.at("layer2.0.conv2")).stride;
  SN_USER_CHECK((s1 == 2) != (s2 == 2), path, ": cannot tell the stride placement (strides ", s1, " and ", s2, ")");
  cfg.block_stride = s1 == 2 ? BlockStride::V1 : BlockStride::V1_5;
  double eps = -1;
  for (const auto& [name, l] : layers)
    if (l.class_name == "BatchNormalization") {
      SN_USER_CHECK(eps < 0 || l.epsilon == eps, path, ": batch norms use different epsilons (", eps, ", ", l.epsilon,
                    ")");
      eps = l.epsilon;
    }
  cfg.bn_eps = eps;
  // Every conv strides where the chosen layout says: the stem by 2, and the
  // first block of stages 2-4 by 2 in its shortcut and in conv1 (v1) or conv2 (v1.5).
  const std::regex conv_re(R"(layer([1-4])\.(\d+)\.(conv[123]|downsample\.0))");
  const std::string strided = cfg.block_stride == BlockStride::V1 ? "conv1" : "conv2";
  for (const auto& [mod, keras] : keras_of) {
    const LayerInfo& l = layers.at(keras);
    if (l.class_name != "Conv2D") continue;
    int expect = mod == "conv1" ? 2 : 1;
    if (std::regex_match(mod, m, conv_re) && m[1] != "1" && m[2] == "0" && (m[3] == "downsample.0" || m[3] == strided))
      expect = 2;
    SN_USER_CHECK(l.stride == expect, path, ": layer '", keras, "' (", mod, ") has stride ", l.stride, ", expected ",
                  expect);
  }
  const std::string act = layers.at(keras_of.at("fc")).activation;
  if (act == "softmax") c.notes.push_back("the Keras classifier ends in softmax; fc outputs the logits before it");

  c.tensors = match_model(cfg, t, path);
  c.meta.architecture = cfg.arch;
  c.meta.model = cfg.to_json();
  io::Preprocessing& p = c.meta.preprocessing;
  p.channel_order = "BGR";  // Keras "caffe" preprocessing
  p.scale = 1.0;
  p.mean = {103.939, 116.779, 123.68};
  p.std = {1.0, 1.0, 1.0};
  c.meta.metadata = {
      {"converted_from", path},
      {"format", "TensorFlow.js layers model (Keras " + model.topology.value("keras_version", "?") + ")"},
      {"notes", c.notes}};
  return c;
}

}  // namespace sn::models
