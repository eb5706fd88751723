// onnx_writer.h — the ONNX graph as the exporter writes it (internal to onnx_export*.cpp):
// initializers under torchvision's state_dict names, nodes named as the modules (a node's
// output is its name), and the layers every network is made of. Opset 13 (kOnnxOpset).
#pragma once
#include <onnx/onnx_pb.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/nn/layers.h"
#include "engine/tensor.h"

namespace sn::models::onnx_export {

// Builds the graph node by node; tensor names are the node names (distinct from the initializers').
class GraphWriter {
 public:
  explicit GraphWriter(onnx::GraphProto& g) : g_(g) {}

  void initializer(const std::string& name, const Tensor& t) {
    SN_CHECK(t.defined(), "ONNX export: tensor ", name, " is missing");
    const Tensor c = t.to(Device::CPU);  // scratchnet tensors are contiguous
    onnx::TensorProto* p = g_.add_initializer();
    p->set_name(name);
    p->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : c.shape()) p->add_dims(d);
    p->set_raw_data(c.data(), static_cast<size_t>(c.numel()) * sizeof(float));  // little-endian, as ONNX's raw_data
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> inputs) {
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : inputs) n->add_input(i);
    n->add_output(name);
    return n;
  }

  static void ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> values) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void real(onnx::NodeProto* n, const std::string& name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }

  // Conv named `prefix` (weights prefix.weight), then its batch norm `bn` -> returns the output's name.
  std::string conv_bn(const std::string& x, const std::string& conv, const nn::Conv2d& c, const std::string& bn,
                      const nn::BatchNorm2d& b) {
    initializer(conv + ".weight", c.weight);
    std::vector<std::string> in{x, conv + ".weight"};
    if (c.bias.defined()) {
      initializer(conv + ".bias", c.bias);
      in.push_back(conv + ".bias");
    }
    onnx::NodeProto* n = node("Conv", conv, in);
    const int64_t k = c.kernel_size, s = c.params.stride, p = c.params.padding;
    ints(n, "kernel_shape", {k, k});
    ints(n, "strides", {s, s});
    ints(n, "pads", {p, p, p, p});
    ints(n, "dilations", {1, 1});
    integer(n, "group", c.params.groups);
    for (const char* t : {"weight", "bias", "running_mean", "running_var"}) {
      const Tensor& v = std::strcmp(t, "weight") == 0         ? b.weight
                        : std::strcmp(t, "bias") == 0         ? b.bias
                        : std::strcmp(t, "running_mean") == 0 ? b.running_mean
                                                              : b.running_var;
      initializer(bn + "." + t, v);
    }
    onnx::NodeProto* m =
        node("BatchNormalization", bn, {conv, bn + ".weight", bn + ".bias", bn + ".running_mean", bn + ".running_var"});
    real(m, "epsilon", b.eps);
    real(m, "momentum", 1.f - b.momentum);  // ONNX's momentum weighs the old statistics
    return bn;
  }

  std::string relu(const std::string& x, const std::string& name) { return node("Relu", name, {x})->output(0); }

  // ReLU6 as Clip(x, 0, 6): opset 13 takes the bounds as inputs, two scalar initializers shared by all.
  std::string relu6(const std::string& x, const std::string& name) {
    if (!relu6_bounds_) {
      for (const auto& [bound, v] : {std::pair{"relu6.min", 0.f}, std::pair{"relu6.max", 6.f}}) {
        onnx::TensorProto* p = g_.add_initializer();  // rank 0: no dims
        p->set_name(bound);
        p->set_data_type(onnx::TensorProto::FLOAT);
        p->add_float_data(v);
      }
      relu6_bounds_ = true;
    }
    return node("Clip", name, {x, "relu6.min", "relu6.max"})->output(0);
  }

  // A conv with its own bias and no batch norm (VGG-16's), named `conv`.
  std::string conv(const std::string& x, const std::string& conv, const nn::Conv2d& c) {
    initializer(conv + ".weight", c.weight);
    std::vector<std::string> in{x, conv + ".weight"};
    if (c.bias.defined()) {
      initializer(conv + ".bias", c.bias);
      in.push_back(conv + ".bias");
    }
    onnx::NodeProto* n = node("Conv", conv, in);
    const int64_t k = c.kernel_size, s = c.params.stride, p = c.params.padding;
    ints(n, "kernel_shape", {k, k});
    ints(n, "strides", {s, s});
    ints(n, "pads", {p, p, p, p});
    ints(n, "dilations", {1, 1});
    integer(n, "group", c.params.groups);
    return conv;
  }

  // y = x W^T + b as Gemm (transB) named `name`.
  onnx::NodeProto* gemm(const std::string& x, const std::string& name, const nn::Linear& l) {
    initializer(name + ".weight", l.weight);
    std::vector<std::string> in{x, name + ".weight"};
    if (l.bias.defined()) {
      initializer(name + ".bias", l.bias);
      in.push_back(name + ".bias");
    }
    onnx::NodeProto* n = node("Gemm", name, in);
    integer(n, "transB", 1);
    return n;
  }

 private:
  onnx::GraphProto& g_;
  bool relu6_bounds_ = false;
};

}  // namespace sn::models::onnx_export

namespace sn::models {
class VGG;
class MobileNetV2;
namespace onnx_export {
// The networks' graphs from "input" (onnx_export_backbones.cpp) -> the classifier's last Gemm.
// VGG-16 at a `crop` whose map after the five max pools is not a multiple of 7 is a user error.
onnx::NodeProto* vgg16_graph(GraphWriter& w, const VGG& net, int64_t crop);
onnx::NodeProto* mobilenet_v2_graph(GraphWriter& w, const MobileNetV2& net);
}  // namespace onnx_export
}  // namespace sn::models
