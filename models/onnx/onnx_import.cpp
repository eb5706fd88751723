#include "models/onnx/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>
#include <map>
#include <set>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/shape.h"

namespace sn::models {

namespace {

const std::set<std::string> kSupported = {"Conv",    "BatchNormalization", "Relu",      "MaxPool", "Add",
                                          "GlobalAveragePool", "ReduceMean", "Flatten", "Gemm",    "MatMul"};
const char* kSupportedList =
    "Conv, BatchNormalization, Relu, MaxPool, Add, GlobalAveragePool or ReduceMean, Flatten, Gemm or MatMul";

// A conv with the batch norm after it, as scratchnet's ResNet holds them.
struct ConvBn {
  Tensor weight, gamma, beta, mean, var;
  int64_t stride = 1, pad = 0;
  std::string out;      // the tensor after the batch norm
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
      if (n.op_type() == "Identity") {  // torch writes shared weights once and names the copies through Identity
        auto it = n.input_size() == 1 && n.output_size() == 1 ? init_.find(n.input(0)) : init_.end();
        SN_CHECK(it != init_.end(), src_, ": ", what(i), " is not supported: only an Identity of a weight is");
        init_[n.output(0)] = it->second;
        used_[i] = true;
        continue;
      }
      SN_CHECK(kSupported.count(n.op_type()), src_, ": ", what(i),
               " is not supported: scratchnet imports ResNet-shaped graphs made of ", kSupportedList);
      // Every operator of an inference ResNet has one output and at least one input.
      SN_CHECK(n.output_size() == 1 && n.input_size() >= 1, src_, ": ", what(i), " has ", n.input_size(),
               " inputs and ", n.output_size(), " outputs (in eval mode a ResNet's ", n.op_type(), " has one output)");
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
    SN_FAIL(src_, ": ", what(i), " ", msg, " (scratchnet imports the forward pass of a torchvision-style ResNet)");
  }
  const std::string& src() const { return src_; }
  bool is_initializer(const std::string& name) const { return init_.count(name) > 0; }

  const std::vector<int>& consumers(const std::string& t) const {
    static const std::vector<int> none;
    auto it = consumers_.find(t);
    return it == consumers_.end() ? none : it->second;
  }
  // The one node that reads `t`, of operator `expected` (or any of several, "A|B").
  int next(const std::string& t, int from, const std::string& expected) {
    const auto& c = consumers(t);
    if (c.size() != 1)
      fail(from, "feeds " + std::to_string(c.size()) + " nodes where a ResNet has exactly one (a " + expected + ")");
    if (("|" + expected + "|").find("|" + op(c[0]) + "|") == std::string::npos)
      fail(c[0], "follows " + what(from) + " where a ResNet has a " + expected);
    take(c[0]);
    return c[0];
  }
  void take(int i) {
    if (used_[i]) fail(i, "is reached twice: the graph is not a chain of ResNet blocks");
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
  ConvBn conv_bn(int i) {
    const auto& n = node(i);
    ConvBn c;
    c.onnx_name = what(i);
    c.weight = tensor(i, 1);
    if (c.weight.ndim() != 4 || c.weight.size(2) != c.weight.size(3)) fail(i, "has a weight that is not (K, C, k, k)");
    const int64_t k = c.weight.size(2), K = c.weight.size(0);
    Tensor bias;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      bias = tensor(i, 2);
      if (bias.shape() != Shape{K}) fail(i, "has a bias of shape " + to_string(bias.shape()));
    }
    if (attr_int(i, "group", 1) != 1) fail(i, "is a grouped convolution");
    const std::string auto_pad = attr_string(i, "auto_pad");
    if (!auto_pad.empty() && auto_pad != "NOTSET") fail(i, "uses auto_pad " + auto_pad + " instead of explicit pads");
    if (attr_ints(i, "dilations", {1, 1}) != std::vector<int64_t>{1, 1}) fail(i, "is dilated");
    if (attr_ints(i, "kernel_shape", {k, k}) != std::vector<int64_t>{k, k}) fail(i, "has a kernel_shape unlike its weight");
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
        if (t->shape() != Shape{K}) fail(b, "has statistics of shape " + to_string(t->shape()) + " for " + std::to_string(K) + " channels");
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

 private:
  const onnx::GraphProto& g_;
  std::string src_;
  std::map<std::string, const onnx::TensorProto*> init_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::vector<bool> used_;
};

Tensor transpose2d(const Tensor& t) {
  const int64_t r = t.size(0), c = t.size(1);
  Tensor out = Tensor::empty({c, r});
  const float* s = t.data();
  float* d = out.data();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
  return out;
}

void put(std::map<std::string, Tensor>& out, const std::string& conv, const std::string& bn, const ConvBn& c) {
  out[conv + ".weight"] = c.weight;
  out[bn + ".weight"] = c.gamma;
  out[bn + ".bias"] = c.beta;
  out[bn + ".running_mean"] = c.mean;
  out[bn + ".running_var"] = c.var;
}

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
  SN_CHECK(p.channel_order == "RGB" || p.channel_order == "BGR", src, ": metadata scratchnet.preprocessing has channel "
           "order '", p.channel_order, "'");
  SN_CHECK(p.scale > 0 && p.resize > 0 && p.crop > 0 && p.std[0] != 0 && p.std[1] != 0 && p.std[2] != 0, src,
           ": metadata scratchnet.preprocessing has a zero or negative scale, size or std");
  return p;
}

}  // namespace

Converted convert_onnx_bytes(const void* data, size_t size, const std::string& src) {
  onnx::ModelProto model;
  SN_CHECK(size <= static_cast<size_t>(INT_MAX), src, " is larger than 2 GB: protobuf cannot read it");
  SN_CHECK(model.ParseFromArray(data, static_cast<int>(size)), src, " is not an ONNX model (protobuf could not parse it)");
  SN_CHECK(model.has_graph(), src, " is an ONNX file without a graph");
  const onnx::GraphProto& g = model.graph();
  Graph G(g, src);
  Converted c;

  // One epsilon for every batch norm (scratchnet's ResNet has one).
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
      SN_CHECK(x.empty(), src, ": the graph has more than one input ('", x, "', '", in.name(), "'); a ResNet has one");
      x = in.name();
    }
  SN_CHECK(!x.empty(), src, ": the graph has no input");
  SN_CHECK(g.output_size() == 1, src, ": the graph has ", g.output_size(), " outputs; a ResNet has one (the logits)");
  if (G.consumers(x).size() != 1 || G.op(G.consumers(x)[0]) != "Conv")
    SN_FAIL(src, ": the input '", x, "' does not go into one Conv (the ResNet's conv1)");

  // Stem: conv1, bn1, relu, maxpool.
  std::map<std::string, Tensor> t;
  std::map<std::string, std::pair<int64_t, int64_t>> conv_attrs;  // torchvision name -> (stride, pad)
  const int first = G.consumers(x)[0];
  G.take(first);
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
      G.fail(cons[0], "follows " + G.what(at) + ", where a ResNet block starts: its input goes into a Conv and into "
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
  bool kept_dims = true;
  if (G.op(gp) == "ReduceMean") {
    std::vector<int64_t> axes = G.attr_ints(gp, "axes", {});
    if (G.node(gp).input_size() > 1) G.fail(gp, "takes its axes as an input (opset 18); export with opset 13 to 17");
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<int64_t>{2, 3} && axes != std::vector<int64_t>{-2, -1})
      G.fail(gp, "does not average over the two spatial axes");
    kept_dims = G.attr_int(gp, "keepdims", 1) != 0;
  }
  cur = G.node(gp).output(0);
  at = gp;
  if (kept_dims) {
    const int f = G.next(cur, gp, "Flatten");
    if (G.attr_int(f, "axis", 1) != 1) G.fail(f, "does not flatten from axis 1");
    cur = G.node(f).output(0);
    at = f;
  }
  const int64_t features = blocks.back().convs.back().weight.size(0);
  const int fc = G.next(cur, at, "Gemm|MatMul");
  Tensor fc_w, fc_b;
  std::string logits;
  if (G.op(fc) == "Gemm") {
    if (G.attr_float(fc, "alpha", 1.f) != 1.f || G.attr_float(fc, "beta", 1.f) != 1.f || G.attr_int(fc, "transA", 0) != 0)
      G.fail(fc, "scales or transposes its input (alpha, beta, transA)");
    fc_w = G.tensor(fc, 1);
    if (fc_w.ndim() != 2) G.fail(fc, "has a weight that is not a matrix");
    if (G.attr_int(fc, "transB", 0) == 0) fc_w = transpose2d(fc_w);
    fc_b = G.node(fc).input_size() > 2 && !G.node(fc).input(2).empty() ? G.tensor(fc, 2) : Tensor::zeros({fc_w.size(0)});
    logits = G.node(fc).output(0);
  } else {
    fc_w = G.tensor(fc, 1);
    if (fc_w.ndim() != 2) G.fail(fc, "has a weight that is not a matrix");
    fc_w = transpose2d(fc_w);  // MatMul: x (N, in) * W (in, out)
    const int add = G.next(G.node(fc).output(0), fc, "Add");
    const auto& an = G.node(add);
    if (an.input_size() != 2) G.fail(add, "does not add a bias");
    fc_b = G.tensor(add, an.input(0) == G.node(fc).output(0) ? 1 : 0);
    logits = an.output(0);
  }
  if (fc_w.size(1) != features) G.fail(fc, "takes " + std::to_string(fc_w.size(1)) + " features, the blocks give " +
                                               std::to_string(features));
  if (fc_b.shape() != Shape{fc_w.size(0)}) G.fail(fc, "has a bias of shape " + to_string(fc_b.shape()));
  SN_CHECK(logits == g.output(0).name(), src, ": the classifier's output '", logits, "' is not the graph's output '",
           g.output(0).name(), "'");
  SN_CHECK(G.consumers(logits).empty(), src, ": the logits '", logits, "' go on into ", G.what(G.consumers(logits)[0]),
           "; export the model without it");
  if (const int u = G.first_unused(); u >= 0) G.fail(u, "is not part of the ResNet's forward pass");

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
  // The epsilon as the shortest decimal that is this float (1e-05, not 9.99999974e-06).
  char eps_text[32];
  const auto printed = std::to_chars(eps_text, eps_text + sizeof eps_text - 1, G.eps);
  *printed.ptr = 0;
  cfg.bn_eps = std::strtod(eps_text, nullptr);
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
  c.tensors = match_model(cfg, t, src);

  int folded = 0, biased = 0;
  for (const ConvBn* cb : all_convs) folded += cb->folded_bn, biased += cb->bias_into_mean;
  if (folded)
    c.notes.push_back(std::to_string(folded) + " convs had their batch norm folded in by the exporter: each became a "
                      "conv and a batch norm with weight 1, the conv's bias, mean 0 and variance 1 - eps");
  if (biased) c.notes.push_back(std::to_string(biased) + " conv biases were folded into the batch norm's mean");

  c.meta.architecture = arch;
  c.meta.model = cfg.to_json();
  std::map<std::string, std::string> props;
  for (const auto& p : model.metadata_props()) props[p.key()] = p.value();
  if (props.count("scratchnet.preprocessing")) {
    c.meta.preprocessing = preprocessing_from(props["scratchnet.preprocessing"], src);
  } else {
    c.meta.preprocessing = io::Preprocessing{};
    c.notes.push_back("no preprocessing recorded in the file: assuming torchvision's (RGB, /255, ImageNet mean and "
                      "std, resize 256, crop 224)");
  }
  if (props.count("scratchnet.labels")) {
    try {
      auto labels = nlohmann::json::parse(props["scratchnet.labels"]).get<std::vector<std::string>>();
      if (static_cast<int>(labels.size()) == cfg.num_classes)
        c.meta.labels = std::move(labels);
      else
        c.notes.push_back("metadata scratchnet.labels has " + std::to_string(labels.size()) +
                          " names for " + std::to_string(cfg.num_classes) + " classes: ignored");
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
