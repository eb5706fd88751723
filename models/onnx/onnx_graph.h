// onnx_graph.h — the ONNX graph as the importer walks it (internal to onnx_import*.cpp):
// the nodes with their producers and consumers, the initializers (and Constant nodes)
// read as tensors, the attributes with their defaults, a conv with its batch norm
// (ConvBn), the unit every network is matched in, ReLU6 as Clip(0, 6), a classifier
// (Gemm, or MatMul + Add). Every accessor names the file and the node in its errors.
#pragma once
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/shape.h"
#include "engine/tensor.h"
#include "models/convert.h"

namespace sn::models::onnx_import {

inline const std::set<std::string> kSupported = {
    "Conv", "BatchNormalization", "Relu",       "Clip",    "MaxPool", "AveragePool",
    "Add",  "GlobalAveragePool",  "ReduceMean", "Flatten", "Gemm",    "MatMul"};
inline const char* const kSupportedList =
    "Conv, BatchNormalization, Relu, Clip (ReLU6), MaxPool, AveragePool, Add, GlobalAveragePool or ReduceMean, "
    "Flatten, Gemm or MatMul";

// A conv with the batch norm after it, as scratchnet's ResNet holds them.
struct ConvBn {
  Tensor weight, gamma, beta, mean, var;
  int64_t stride = 1, pad = 0, groups = 1;
  std::string out;        // the tensor after the batch norm
  std::string onnx_name;  // the Conv node, for messages
  bool folded_bn = false, bias_into_mean = false;
};

struct Block {
  std::vector<ConvBn> convs;  // 2 (BasicBlock) or 3 (Bottleneck)
  bool has_downsample = false;
  ConvBn downsample;
};

class Graph {
 public:
  Graph(const onnx::GraphProto& g, std::string src) : g_(g), src_(std::move(src)), used_(g.node_size(), false) {
    for (const auto& t : g.initializer()) init_[t.name()] = &t;
    for (int i = 0; i < g.node_size(); ++i) {
      const auto& n = g.node(i);
      SN_CHECK(n.domain().empty() || n.domain() == "ai.onnx", src_, ": ", what(i), " is in the operator domain '",
               n.domain(), "': only the standard ONNX operators (", kSupportedList, ") are imported");
      if (n.op_type() == "Constant") {  // torch writes Clip's bounds so: a tensor held by the node
        const onnx::AttributeProto* v = n.output_size() == 1 ? attr(i, "value") : nullptr;
        SN_CHECK(v && v->type() == onnx::AttributeProto::TENSOR, src_, ": ", what(i),
                 " is not supported: only a Constant holding a tensor ('value') is");
        init_[n.output(0)] = &v->t();
        used_[i] = true;
        continue;
      }
      if (n.op_type() == "Identity") {  // torch writes shared weights once and names the copies through Identity
        auto it = n.input_size() == 1 && n.output_size() == 1 ? init_.find(n.input(0)) : init_.end();
        SN_CHECK(it != init_.end(), src_, ": ", what(i), " is not supported: only an Identity of a weight is");
        init_[n.output(0)] = it->second;
        used_[i] = true;
        continue;
      }
      SN_CHECK(kSupported.count(n.op_type()), src_, ": ", what(i),
               " is not supported: scratchnet imports ResNet-, VGG-16- and MobileNetV2-shaped graphs made of ",
               kSupportedList);
      // Every operator of these networks in inference has one output and at least one input.
      SN_CHECK(n.output_size() == 1 && n.input_size() >= 1, src_, ": ", what(i), " has ", n.input_size(),
               " inputs and ", n.output_size(), " outputs (in eval mode a ", n.op_type(),
               " of these networks has one)");
      for (const auto& o : n.output()) producer_[o] = i;
      for (const auto& in : n.input()) consumers_[in].push_back(i);
    }
  }

  const onnx::NodeProto& node(int i) const { return g_.node(i); }
  const std::string& op(int i) const { return g_.node(i).op_type(); }
  std::string what(int i) const {
    const auto& n = g_.node(i);
    return "node '" + (n.name().empty() ? "#" + std::to_string(i) : n.name()) + "' (" + n.op_type() + ")";
  }
  [[noreturn]] void fail(int i, const std::string& msg) const {
    SN_FAIL(src_, ": ", what(i), " ", msg, " (scratchnet imports the forward pass of a torchvision-style ", net, ")");
  }
  // The network being matched, for messages ("a ResNet has exactly one ...").
  std::string net = "ResNet";
  const std::string& src() const { return src_; }
  bool is_initializer(const std::string& name) const { return init_.count(name) > 0; }
  // The node that gives tensor t (-1: none, e.g. an input).
  int producer(const std::string& t) const {
    auto it = producer_.find(t);
    return it == producer_.end() ? -1 : it->second;
  }

  const std::vector<int>& consumers(const std::string& t) const {
    static const std::vector<int> none;
    auto it = consumers_.find(t);
    return it == consumers_.end() ? none : it->second;
  }
  // The one node that reads `t`, of operator `expected` (or any of several, "A|B").
  int next(const std::string& t, int from, const std::string& expected) {
    const auto& c = consumers(t);
    if (c.size() != 1)
      fail(from,
           "feeds " + std::to_string(c.size()) + " nodes where a " + net + " has exactly one (a " + expected + ")");
    if (("|" + expected + "|").find("|" + op(c[0]) + "|") == std::string::npos)
      fail(c[0], "follows " + what(from) + " where a " + net + " has a " + expected);
    take(c[0]);
    return c[0];
  }
  void take(int i) {
    if (used_[i]) fail(i, "is reached twice: the graph is not a chain of " + net + " blocks");
    used_[i] = true;
  }
  int first_unused() const {
    for (size_t i = 0; i < used_.size(); ++i)
      if (!used_[i]) return static_cast<int>(i);
    return -1;
  }

  // An initializer as a float32 tensor; sizes are checked before anything is allocated.
  Tensor tensor(int i, int input) const {
    const auto& n = g_.node(i);
    if (input >= n.input_size() || n.input(input).empty()) fail(i, "lacks its input " + std::to_string(input));
    auto it = init_.find(n.input(input));
    if (it == init_.end()) fail(i, "takes '" + n.input(input) + "' as a weight, but it is not an initializer");
    const onnx::TensorProto& t = *it->second;
    const std::string name = "initializer '" + t.name() + "'";
    SN_CHECK(t.data_location() != onnx::TensorProto::EXTERNAL, src_, ": ", name,
             " is stored outside the file (external data): save the model with all tensors inside it");
    SN_CHECK(t.data_type() == onnx::TensorProto::FLOAT, src_, ": ", name, " has ONNX data type ", t.data_type(),
             "; only float32 (1) is imported");
    Shape s;
    for (int64_t d : t.dims()) {
      SN_CHECK(d >= 0 && d <= INT32_MAX, src_, ": ", name, " has a dimension of ", d);
      s.push_back(d);
    }
    int64_t n_values = 0;
    try {
      n_values = checked_numel(s);
    } catch (const Error& e) {
      SN_FAIL(src_, ": ", name, ": ", e.what());
    }
    if (t.has_raw_data()) {
      // Compared as a count of floats: n_values * 4 could wrap around.
      SN_CHECK(t.raw_data().size() % sizeof(float) == 0 &&
                   t.raw_data().size() / sizeof(float) == static_cast<size_t>(n_values),
               src_, ": ", name, " has shape ", to_string(s), " but ", t.raw_data().size(), " bytes of data");
      Tensor out = Tensor::empty(s);
      if (n_values) std::memcpy(out.data(), t.raw_data().data(), t.raw_data().size());
      return out;
    }
    SN_CHECK(t.float_data_size() == n_values, src_, ": ", name, " has shape ", to_string(s), " but ",
             t.float_data_size(), " values");
    Tensor out = Tensor::empty(s);
    if (n_values) std::memcpy(out.data(), t.float_data().data(), static_cast<size_t>(n_values) * sizeof(float));
    return out;
  }

  const onnx::AttributeProto* attr(int i, const std::string& name) const {
    for (const auto& a : g_.node(i).attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t attr_int(int i, const std::string& name, int64_t dflt) const {
    const auto* a = attr(i, name);
    if (!a) return dflt;
    if (a->type() != onnx::AttributeProto::INT) fail(i, "has a non-integer attribute " + name);
    return a->i();
  }
  float attr_float(int i, const std::string& name, float dflt) const {
    const auto* a = attr(i, name);
    if (!a) return dflt;
    if (a->type() != onnx::AttributeProto::FLOAT) fail(i, "has a non-float attribute " + name);
    return a->f();
  }
  std::vector<int64_t> attr_ints(int i, const std::string& name, std::vector<int64_t> dflt) const {
    const auto* a = attr(i, name);
    if (!a) return dflt;
    if (a->type() != onnx::AttributeProto::INTS) fail(i, "has a non-list attribute " + name);
    return {a->ints().begin(), a->ints().end()};
  }
  std::string attr_string(int i, const std::string& name) const {
    const auto* a = attr(i, name);
    if (!a) return "";
    if (a->type() != onnx::AttributeProto::STRING) fail(i, "has a non-string attribute " + name);
    return a->s();
  }

  std::vector<std::string> notes;
  float eps = 1e-5f;  // of every batch norm (set before any is read)

  // The Conv node i and the batch norm after it (or an identity one when the exporter folded it).
  // Grouped convs (MobileNetV2's depthwise ones) only where `grouped` allows.
  ConvBn conv_bn(int i, bool grouped = false) {
    const auto& n = node(i);
    ConvBn c;
    c.onnx_name = what(i);
    c.weight = tensor(i, 1);
    if (c.weight.ndim() != 4 || c.weight.size(2) != c.weight.size(3))
      fail(i, "has a weight that is not (K, C/groups, k, k)");
    const int64_t k = c.weight.size(2), K = c.weight.size(0);
    Tensor bias;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      bias = tensor(i, 2);
      if (bias.shape() != Shape{K}) fail(i, "has a bias of shape " + to_string(bias.shape()));
    }
    c.groups = attr_int(i, "group", 1);
    if (c.groups != 1 && !grouped) fail(i, "is a grouped convolution");
    if (c.groups < 1 || K % c.groups != 0)
      fail(i, "has group " + std::to_string(c.groups) + " for " + std::to_string(K) + " output channels");
    const std::string auto_pad = attr_string(i, "auto_pad");
    if (!auto_pad.empty() && auto_pad != "NOTSET") fail(i, "uses auto_pad " + auto_pad + " instead of explicit pads");
    if (attr_ints(i, "dilations", {1, 1}) != std::vector<int64_t>{1, 1}) fail(i, "is dilated");
    if (attr_ints(i, "kernel_shape", {k, k}) != std::vector<int64_t>{k, k})
      fail(i, "has a kernel_shape unlike its weight");
    const auto strides = attr_ints(i, "strides", {1, 1});
    const auto pads = attr_ints(i, "pads", {0, 0, 0, 0});
    if (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1) fail(i, "has unequal or bad strides");
    if (pads.size() != 4 || std::count(pads.begin(), pads.end(), pads[0]) != 4 || pads[0] < 0)
      fail(i, "has asymmetric or bad pads");
    c.stride = strides[0];
    c.pad = pads[0];
    if (n.output_size() != 1) fail(i, "has more than one output");
    const std::string out = n.output(0);
    const auto& after = consumers(out);
    if (after.size() == 1 && op(after[0]) == "BatchNormalization") {
      const int b = after[0];
      take(b);
      const auto& bn = node(b);
      if (bn.input(0) != out) fail(b, "does not normalize the conv's output");
      if (bn.output_size() != 1 || attr_int(b, "training_mode", 0) != 0)
        fail(b, "runs in training mode (export the model in eval mode)");
      c.gamma = tensor(b, 1), c.beta = tensor(b, 2), c.mean = tensor(b, 3), c.var = tensor(b, 4);
      for (const Tensor* t : {&c.gamma, &c.beta, &c.mean, &c.var})
        if (t->shape() != Shape{K})
          fail(b, "has statistics of shape " + to_string(t->shape()) + " for " + std::to_string(K) + " channels");
      if (bias.defined()) {  // bn(conv + b) = bn with mean - b
        float* m = c.mean.data();
        const float* bb = bias.data();
        for (int64_t j = 0; j < K; ++j) m[j] -= bb[j];
        c.bias_into_mean = true;
      }
      c.out = bn.output(0);
    } else {  // batch norm folded by the exporter: an identity batch norm carrying the conv's bias
      c.gamma = Tensor::full({K}, 1.f);
      c.beta = bias.defined() ? bias : Tensor::zeros({K});
      c.mean = Tensor::zeros({K});
      c.var = Tensor::full({K}, 1.f - eps);  // (var + eps) = 1: the normalization divides by 1
      c.folded_bn = true;
      c.out = out;
    }
    return c;
  }

  // Clip node i is ReLU6: bounds 0 and 6, as inputs (opset 11+: initializers or Constants) or attributes.
  void expect_relu6(int i) const {
    const auto& n = node(i);
    auto bound = [&](int input, const char* name, float dflt) {
      if (n.input_size() > input && !n.input(input).empty()) {
        const Tensor t = tensor(i, input);
        if (t.numel() != 1) fail(i, std::string("has a ") + name + " bound that is not a scalar");
        return t.data()[0];
      }
      return attr_float(i, name, dflt);
    };
    if (bound(1, "min", -3.4e38f) != 0.f || bound(2, "max", 3.4e38f) != 6.f)
      fail(i, "clips to other bounds than ReLU6's [0, 6]");
  }

  // The classifier at node fc (taken): Gemm, or MatMul + Add; weight as (out, in), bias; `out` its output.
  struct Linear {
    Tensor weight, bias;
    std::string out;
    int last = -1;  // the node giving `out`
  };
  Linear linear(int fc) {
    Linear l;
    if (op(fc) == "Gemm") {
      if (attr_float(fc, "alpha", 1.f) != 1.f || attr_float(fc, "beta", 1.f) != 1.f || attr_int(fc, "transA", 0) != 0)
        fail(fc, "scales or transposes its input (alpha, beta, transA)");
      l.weight = tensor(fc, 1);
      if (l.weight.ndim() != 2) fail(fc, "has a weight that is not a matrix");
      if (attr_int(fc, "transB", 0) == 0) l.weight = transpose2d(l.weight);
      l.bias =
          node(fc).input_size() > 2 && !node(fc).input(2).empty() ? tensor(fc, 2) : Tensor::zeros({l.weight.size(0)});
      l.out = node(fc).output(0);
      l.last = fc;
    } else {
      l.weight = tensor(fc, 1);
      if (l.weight.ndim() != 2) fail(fc, "has a weight that is not a matrix");
      l.weight = transpose2d(l.weight);  // MatMul: x (N, in) * W (in, out)
      const int add = next(node(fc).output(0), fc, "Add");
      const auto& an = node(add);
      if (an.input_size() != 2) fail(add, "does not add a bias");
      l.bias = tensor(add, an.input(0) == node(fc).output(0) ? 1 : 0);
      l.out = an.output(0);
      l.last = add;
    }
    if (l.bias.shape() != Shape{l.weight.size(0)}) fail(fc, "has a bias of shape " + to_string(l.bias.shape()));
    return l;
  }

  // Global average pooling (GlobalAveragePool, or ReduceMean over H and W) at node gp (taken), then
  // the Flatten where it kept the dimensions -> the (N, C) tensor and the node giving it.
  std::pair<std::string, int> global_pool(int gp) {
    bool kept_dims = true;
    if (op(gp) == "ReduceMean") {
      std::vector<int64_t> axes = attr_ints(gp, "axes", {});
      if (node(gp).input_size() > 1) fail(gp, "takes its axes as an input (opset 18); export with opset 13 to 17");
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<int64_t>{2, 3} && axes != std::vector<int64_t>{-2, -1})
        fail(gp, "does not average over the two spatial axes");
      kept_dims = attr_int(gp, "keepdims", 1) != 0;
    } else if (op(gp) != "GlobalAveragePool") {
      fail(gp, "is not a global average pooling");
    }
    if (!kept_dims) return {node(gp).output(0), gp};
    const int f = next(node(gp).output(0), gp, "Flatten");
    if (attr_int(f, "axis", 1) != 1) fail(f, "does not flatten from axis 1");
    return {node(f).output(0), f};
  }

  static Tensor transpose2d(const Tensor& t) {
    const int64_t r = t.size(0), c = t.size(1);
    Tensor out = Tensor::empty({c, r});
    const float* s = t.data();
    float* d = out.data();
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
    return out;
  }

 private:
  const onnx::GraphProto& g_;
  std::string src_;
  std::map<std::string, const onnx::TensorProto*> init_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::vector<bool> used_;
};

// Puts a ConvBn under torchvision's names: `conv`.weight and the batch norm `bn`'s four tensors.
inline void put(std::map<std::string, Tensor>& out, const std::string& conv, const std::string& bn, const ConvBn& c) {
  out[conv + ".weight"] = c.weight;
  out[bn + ".weight"] = c.gamma;
  out[bn + ".bias"] = c.beta;
  out[bn + ".running_mean"] = c.mean;
  out[bn + ".running_var"] = c.var;
}

// What a network's walk gives: its architecture, options and torchvision-named tensors (in
// state_dict order), and how many convs had their batch norm folded or a bias moved into it.
struct Walked {
  std::string arch;
  nlohmann::json model;
  nn::NamedTensors tensors;
  int folded = 0, biased = 0;
  std::vector<std::string> notes;
};

// The walks from the first Conv (not yet taken) to the logits, for each network
// (onnx_import.cpp, onnx_import_backbones.cpp); `logits` is the graph's output.
Walked walk_resnet(Graph& G, int first, const std::string& logits);
Walked walk_vgg16(Graph& G, int first, const std::string& logits);
Walked walk_mobilenet_v2(Graph& G, int first, const std::string& logits);

// The classifier `fc` gives the graph's output `logits`, nothing reads it, and every node was walked.
void expect_logits(const Graph& G, const Graph::Linear& fc, const std::string& logits);

// The epsilon as the shortest decimal that is this float (1e-05, not 9.99999974e-06).
double shortest_double(float v);

}  // namespace sn::models::onnx_import
