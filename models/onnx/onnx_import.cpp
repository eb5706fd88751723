// onnx_import.cpp — which network an ONNX graph is (a ResNet, VGG-16 or MobileNetV2), the
// ResNet's walk, and what every import shares (the input and output, batch norm's epsilon,
// the metadata). What is accepted: onnx_import.h; the graph as walked: onnx_graph.h; the
// VGG-16 and MobileNetV2 walks: onnx_import_backbones.cpp.
#include "models/onnx/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <map>
#include <set>
#include <tuple>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/shape.h"
#include "models/onnx/onnx_graph.h"

namespace sn::models {

using onnx_import::Block;
using onnx_import::ConvBn;
using onnx_import::Graph;

using onnx_import::Walked;

namespace {

// Values of a torchvision ResNet's state_dict, to refuse a graph whose tensors cannot
// make one before a model of that size is built.
int64_t state_dict_values(const ResNetLayout& l, int64_t w, int64_t classes) {
  auto conv = [](int64_t k, int64_t c, int64_t r) { return k * c * r * r; };
  const int64_t e = l.bottleneck ? 4 : 1;
  int64_t n = conv(w, 3, 7) + 4 * w, in = w;
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = w << s;
    for (int i = 0; i < l.blocks[s]; ++i) {
      if (l.bottleneck)
        n += conv(planes, in, 1) + conv(planes, planes, 3) + conv(planes * 4, planes, 1) + 4 * (planes * 6);
      else
        n += conv(planes, in, 3) + conv(planes, planes, 3) + 4 * (planes * 2);
      if (i == 0 && (s > 0 || in != planes * e)) n += conv(planes * e, in, 1) + 4 * planes * e;
      in = planes * e;
    }
  }
  return n + classes * in + classes;
}

io::Preprocessing preprocessing_from(const std::string& text, const std::string& src) {
  io::Preprocessing p;
  try {
    const auto j = nlohmann::json::parse(text);
    p.channel_order = j.at("channel_order").get<std::string>();
    p.scale = j.at("scale").get<double>();
    p.mean = j.at("mean").get<std::array<double, 3>>();
    p.std = j.at("std").get<std::array<double, 3>>();
    p.resize = j.at("resize").get<int>();
    p.crop = j.at("crop").get<int>();
  } catch (const nlohmann::json::exception& e) {
    SN_FAIL(src, ": metadata scratchnet.preprocessing is not valid: ", e.what());
  }
  SN_CHECK(p.channel_order == "RGB" || p.channel_order == "BGR", src,
           ": metadata scratchnet.preprocessing has channel "
           "order '",
           p.channel_order, "'");
  SN_CHECK(p.scale > 0 && p.resize > 0 && p.crop > 0 && p.std[0] != 0 && p.std[1] != 0 && p.std[2] != 0, src,
           ": metadata scratchnet.preprocessing has a zero or negative scale, size or std");
  return p;
}

}  // namespace

namespace onnx_import {

double shortest_double(float v) {
  char text[32];
  const auto printed = std::to_chars(text, text + sizeof text - 1, v);
  *printed.ptr = 0;
  return std::strtod(text, nullptr);
}

// The classifier's output is the graph's, and nothing reads it.
void expect_logits(const Graph& G, const Graph::Linear& fc, const std::string& logits) {
  SN_CHECK(fc.out == logits, G.src(), ": the classifier's output '", fc.out, "' is not the graph's output '", logits,
           "'");
  SN_CHECK(G.consumers(logits).empty(), G.src(), ": the logits '", logits, "' go on into ",
           G.what(G.consumers(logits)[0]), "; export the model without it");
  if (const int u = G.first_unused(); u >= 0) G.fail(u, "is not part of the " + G.net + "'s forward pass");
}

Walked walk_resnet(Graph& G, int first, const std::string& logits) {
  // Stem: conv1, bn1, relu, maxpool.
  std::map<std::string, Tensor> t;
  std::map<std::string, std::pair<int64_t, int64_t>> conv_attrs;  // torchvision name -> (stride, pad)
  G.take(first);
  const std::string& src = G.src();
  const ConvBn stem = G.conv_bn(first);
  put(t, "conv1", "bn1", stem);
  conv_attrs["conv1"] = {stem.stride, stem.pad};
  std::vector<const ConvBn*> all_convs{&stem};
  int relu = G.next(stem.out, first, "Relu");
  const int pool = G.next(G.node(relu).output(0), relu, "MaxPool");
  if (G.attr_ints(pool, "kernel_shape", {}) != std::vector<int64_t>{3, 3} ||
      G.attr_ints(pool, "strides", {1, 1}) != std::vector<int64_t>{2, 2} ||
      G.attr_ints(pool, "pads", {0, 0, 0, 0}) != std::vector<int64_t>{1, 1, 1, 1} ||
      G.attr_int(pool, "ceil_mode", 0) != 0 || G.attr_ints(pool, "dilations", {1, 1}) != std::vector<int64_t>{1, 1} ||
      G.node(pool).output_size() != 1)
    G.fail(pool, "is not a ResNet's 3x3 max pool with stride 2 and padding 1");
  std::string cur = G.node(pool).output(0);
  int at = pool;

  // Blocks, until the global pooling.
  std::vector<Block> blocks;
  for (;;) {
    const auto cons = G.consumers(cur);
    if (cons.size() == 1 && (G.op(cons[0]) == "GlobalAveragePool" || G.op(cons[0]) == "ReduceMean")) break;
    std::vector<int> convs, adds;
    for (int i : cons) {
      if (G.op(i) == "Conv")
        convs.push_back(i);
      else if (G.op(i) == "Add")
        adds.push_back(i);
      else
        G.fail(i, "follows " + G.what(at) + ", where a ResNet block starts with a Conv");
    }
    if (cons.empty()) G.fail(at, "feeds nothing, where a ResNet goes on with a block or the pooling");
    if (!(cons.size() == 2 && (convs.size() == 2 || (convs.size() == 1 && adds.size() == 1))))
      G.fail(cons[0], "follows " + G.what(at) +
                          ", where a ResNet block starts: its input goes into a Conv and into "
                          "an Add or a second (shortcut) Conv");
    Block b;
    int main = convs[0];
    if (convs.size() == 2) {  // which one is the shortcut: its batch norm's output goes straight into the Add
      G.take(convs[0]);
      G.take(convs[1]);
      ConvBn a = G.conv_bn(convs[0]), d = G.conv_bn(convs[1]);
      const auto& after_a = G.consumers(a.out);
      if (after_a.size() == 1 && G.op(after_a[0]) == "Add") std::swap(a, d), main = convs[1];
      b.has_downsample = true;
      b.downsample = std::move(d);
      b.convs.push_back(std::move(a));
    } else {
      G.take(main);
      b.convs.push_back(G.conv_bn(main));
    }
    // The main path: conv, bn, relu, conv, bn [, relu, conv, bn], then the Add.
    int add = -1;
    int from = main;
    for (;;) {
      const auto& after = G.consumers(b.convs.back().out);
      if (after.size() == 1 && G.op(after[0]) == "Add") {
        add = after[0];
        break;
      }
      relu = G.next(b.convs.back().out, from, "Relu|Add");
      const int next_conv = G.next(G.node(relu).output(0), relu, "Conv");
      b.convs.push_back(G.conv_bn(next_conv));
      from = next_conv;
      if (b.convs.size() > 3) G.fail(next_conv, "makes a block of more than three convs");
    }
    G.take(add);
    const auto& an = G.node(add);
    const std::string shortcut = b.has_downsample ? b.downsample.out : cur;
    const std::set<std::string> ins(an.input().begin(), an.input().end()), want{b.convs.back().out, shortcut};
    if (an.input_size() != 2 || ins != want) G.fail(add, "does not add the block's path and its shortcut");
    if (b.convs.size() < 2) G.fail(add, "ends a block of one conv");
    if (!blocks.empty() && blocks[0].convs.size() != b.convs.size())
      G.fail(main, "starts a block of " + std::to_string(b.convs.size()) + " convs after blocks of " +
                       std::to_string(blocks[0].convs.size()));
    relu = G.next(an.output(0), add, "Relu");
    cur = G.node(relu).output(0);
    at = relu;
    blocks.push_back(std::move(b));
    SN_CHECK(blocks.size() <= 100, src, ": more than 100 blocks: not a ResNet");
  }

  // Pooling, flatten, classifier.
  SN_CHECK(!blocks.empty(), src, ": the graph has no residual blocks");
  const int gp = G.consumers(cur)[0];
  G.take(gp);
  std::tie(cur, at) = G.global_pool(gp);
  const int64_t features = blocks.back().convs.back().weight.size(0);
  const int fc = G.next(cur, at, "Gemm|MatMul");
  const Graph::Linear lin = G.linear(fc);
  const Tensor &fc_w = lin.weight, &fc_b = lin.bias;
  if (fc_w.size(1) != features)
    G.fail(fc, "takes " + std::to_string(fc_w.size(1)) + " features, the blocks give " + std::to_string(features));
  expect_logits(G, lin, logits);

  // Which ResNet: the number and kind of blocks.
  const bool bottleneck = blocks[0].convs.size() == 3;
  std::string arch;
  for (const char* a : {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}) {
    const auto l = resnet_layout(a);
    int n = 0;
    for (int s : l.blocks) n += s;
    if (l.bottleneck == bottleneck && n == static_cast<int>(blocks.size())) arch = a;
  }
  SN_CHECK(!arch.empty(), src, ": ", blocks.size(), bottleneck ? " Bottleneck" : " BasicBlock",
           " blocks make none of ResNet-18/34/50/101/152");
  const auto layout = resnet_layout(arch);
  ResNetConfig cfg;
  cfg.arch = arch;
  cfg.width = static_cast<int>(stem.weight.size(0));
  cfg.num_classes = static_cast<int>(fc_w.size(0));
  cfg.bn_eps = onnx_import::shortest_double(G.eps);
  SN_CHECK(cfg.width >= 1 && cfg.width <= 4096 && cfg.num_classes >= 1, src, ": conv1 has ", cfg.width,
           " output channels and fc ", cfg.num_classes, " outputs");
  // The stride of a downsampling Bottleneck: on its first 1x1 conv (v1) or its 3x3 conv (v1.5).
  if (bottleneck && layout.blocks[0] < static_cast<int>(blocks.size()))
    cfg.block_stride = blocks[layout.blocks[0]].convs[0].stride == 2 ? BlockStride::V1 : BlockStride::V1_5;

  size_t bi = 0;
  for (int s = 0; s < 4; ++s)
    for (int i = 0; i < layout.blocks[s]; ++i, ++bi) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(i);
      const Block& b = blocks[bi];
      const bool down = i == 0 && s > 0;
      for (size_t j = 0; j < b.convs.size(); ++j) {
        const std::string n = std::to_string(j + 1);
        put(t, p + ".conv" + n, p + ".bn" + n, b.convs[j]);
        // Where torchvision's (and the paper's) ResNet strides and pads.
        const int64_t k = b.convs[j].weight.size(2);
        int64_t stride = 1;
        if (down && !bottleneck && j == 0) stride = 2;
        if (down && bottleneck && j == (cfg.block_stride == BlockStride::V1 ? 0u : 1u)) stride = 2;
        if (b.convs[j].stride != stride || b.convs[j].pad != k / 2)
          SN_FAIL(src, ": ", b.convs[j].onnx_name, " (", p, ".conv", n, ") has stride ", b.convs[j].stride, " and pad ",
                  b.convs[j].pad, ", a ", arch, " has stride ", stride, " and pad ", k / 2);
        all_convs.push_back(&b.convs[j]);
      }
      if (b.has_downsample) {
        put(t, p + ".downsample.0", p + ".downsample.1", b.downsample);
        if (b.downsample.stride != (s > 0 ? 2 : 1) || b.downsample.pad != 0)
          SN_FAIL(src, ": ", b.downsample.onnx_name, " (", p, ".downsample.0) has stride ", b.downsample.stride,
                  " and pad ", b.downsample.pad, ", a ", arch, " has stride ", s > 0 ? 2 : 1, " and pad 0");
        all_convs.push_back(&b.downsample);
      }
    }
  if (stem.stride != 2 || stem.pad != 3 || stem.weight.size(2) != 7)
    SN_FAIL(src, ": ", stem.onnx_name, " (conv1) is not a 7x7 conv with stride 2 and pad 3");
  t["fc.weight"] = fc_w;
  t["fc.bias"] = fc_b;

  int64_t values = 0;
  for (const auto& [n, v] : t) values += v.numel();
  SN_CHECK(values == state_dict_values(layout, cfg.width, cfg.num_classes), src, ": the graph's tensors (", values,
           " values) do not make a ", arch, " of width ", cfg.width, " with ", cfg.num_classes, " classes");
  Walked w;
  w.tensors = match_model(cfg, t, src);
  for (const ConvBn* cb : all_convs) w.folded += cb->folded_bn, w.biased += cb->bias_into_mean;
  w.arch = arch;
  w.model = cfg.to_json();
  return w;
}

}  // namespace onnx_import

namespace {

// Which network starts at the first Conv: its batch norm (if any) goes into a Clip (ReLU6):
// MobileNetV2; into a Relu and then a MaxPool: a ResNet; a Relu and a Conv: VGG-16.
std::string which_network(const Graph& G, int first) {
  auto single = [&](const std::string& t) { return G.consumers(t).size() == 1 ? G.consumers(t)[0] : -1; };
  int n = single(G.node(first).output(0));
  if (n >= 0 && G.op(n) == "BatchNormalization") n = single(G.node(n).output(0));
  if (n >= 0 && G.op(n) == "Clip") return "mobilenet_v2";
  if (n >= 0 && G.op(n) == "Relu") {
    const int after = single(G.node(n).output(0));
    if (after >= 0 && G.op(after) == "Conv") return "vgg16";
  }
  return "resnet";  // and its walk names what does not fit
}

}  // namespace

Converted convert_onnx_bytes(const void* data, size_t size, const std::string& src) {
  onnx::ModelProto model;
  SN_CHECK(size <= static_cast<size_t>(INT_MAX), src, " is larger than 2 GB: protobuf cannot read it");
  SN_CHECK(model.ParseFromArray(data, static_cast<int>(size)), src,
           " is not an ONNX model (protobuf could not parse it)");
  SN_CHECK(model.has_graph(), src, " is an ONNX file without a graph");
  const onnx::GraphProto& g = model.graph();
  Graph G(g, src);
  Converted c;

  // One epsilon for every batch norm (scratchnet's ResNet and MobileNetV2 have one).
  bool any_bn = false;
  for (int i = 0; i < g.node_size(); ++i)
    if (G.op(i) == "BatchNormalization") {
      const float e = G.attr_float(i, "epsilon", 1e-5f);
      if (any_bn && e != G.eps) G.fail(i, "has epsilon " + std::to_string(e) + ", others " + std::to_string(G.eps));
      SN_CHECK(e > 0 && e < 1, src, ": ", G.what(i), " has epsilon ", e);
      G.eps = e;
      any_bn = true;
    }

  // The input: the one graph input that is not a weight.
  std::string x;
  for (const auto& in : g.input())
    if (!G.is_initializer(in.name())) {
      SN_CHECK(x.empty(), src, ": the graph has more than one input ('", x, "', '", in.name(),
               "'); the networks scratchnet imports have one");
      x = in.name();
    }
  SN_CHECK(!x.empty(), src, ": the graph has no input");
  SN_CHECK(g.output_size() == 1, src, ": the graph has ", g.output_size(),
           " outputs; the networks scratchnet imports have one (the logits)");
  if (G.consumers(x).size() != 1 || G.op(G.consumers(x)[0]) != "Conv")
    SN_FAIL(src, ": the input '", x,
            "' does not go into one Conv (a ResNet's conv1, VGG-16's or MobileNetV2's features.0)");
  const int first = G.consumers(x)[0];
  const std::string net = which_network(G, first);
  Walked w = net == "vgg16"          ? onnx_import::walk_vgg16(G, first, g.output(0).name())
             : net == "mobilenet_v2" ? onnx_import::walk_mobilenet_v2(G, first, g.output(0).name())
                                     : onnx_import::walk_resnet(G, first, g.output(0).name());
  c.tensors = std::move(w.tensors);
  if (w.folded)
    c.notes.push_back(std::to_string(w.folded) +
                      " convs had their batch norm folded in by the exporter: each became a "
                      "conv and a batch norm with weight 1, the conv's bias, mean 0 and variance 1 - eps");
  if (w.biased) c.notes.push_back(std::to_string(w.biased) + " conv biases were folded into the batch norm's mean");
  c.notes.insert(c.notes.end(), w.notes.begin(), w.notes.end());
  const int num_classes = w.model.at("num_classes").get<int>();

  c.meta.architecture = w.arch;
  c.meta.model = w.model;
  std::map<std::string, std::string> props;
  for (const auto& p : model.metadata_props()) props[p.key()] = p.value();
  if (props.count("scratchnet.preprocessing")) {
    c.meta.preprocessing = preprocessing_from(props["scratchnet.preprocessing"], src);
  } else {
    c.meta.preprocessing = io::Preprocessing{};
    c.notes.push_back(
        "no preprocessing recorded in the file: assuming torchvision's (RGB, /255, ImageNet mean and "
        "std, resize 256, crop 224)");
  }
  if (props.count("scratchnet.labels")) {
    try {
      auto labels = nlohmann::json::parse(props["scratchnet.labels"]).get<std::vector<std::string>>();
      if (static_cast<int>(labels.size()) == num_classes)
        c.meta.labels = std::move(labels);
      else
        c.notes.push_back("metadata scratchnet.labels has " + std::to_string(labels.size()) + " names for " +
                          std::to_string(num_classes) + " classes: ignored");
    } catch (const nlohmann::json::exception& e) {
      SN_FAIL(src, ": metadata scratchnet.labels is not a JSON array of names: ", e.what());
    }
  }
  c.meta.metadata = {{"converted_from", src},
                     {"format", "ONNX (IR version " + std::to_string(model.ir_version()) + ", producer " +
                                    model.producer_name() + " " + model.producer_version() + ")"}};
  if (props.count("scratchnet.metadata")) {
    try {
      c.meta.metadata["onnx_metadata"] = nlohmann::json::parse(props["scratchnet.metadata"]);
    } catch (const nlohmann::json::exception&) {
      c.meta.metadata["onnx_metadata"] = props["scratchnet.metadata"];
    }
  }
  return c;
}

Converted convert_onnx(const std::string& path) {
  const std::vector<uint8_t> bytes = io::read_file(path);
  return convert_onnx_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace sn::models
