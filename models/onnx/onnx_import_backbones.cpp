// onnx_import_backbones.cpp — VGG-16 and MobileNetV2 matched in an ONNX graph (as
// torch.onnx.export writes torchvision's vgg16() and mobilenet_v2()), their initializers
// named as torchvision's state_dict names them, whatever the file calls them (torch's
// exporter renames the convs it folded batch norm into "onnx::Conv_539"). The layout is
// checked here (kernel, stride, padding, groups, which blocks add their input); the
// shapes and the width by match_backbone (models/convert.h), as for a .pth.
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/check.h"
#include "models/onnx/onnx_graph.h"

namespace sn::models::onnx_import {

namespace {

int64_t conv_k(const ConvBn& c) { return c.weight.size(2); }

// A max pool as VGG-16's: 2x2, stride 2, no padding.
void expect_vgg_pool(const Graph& G, int pool) {
  if (G.attr_ints(pool, "kernel_shape", {}) != std::vector<int64_t>{2, 2} ||
      G.attr_ints(pool, "strides", {1, 1}) != std::vector<int64_t>{2, 2} ||
      G.attr_ints(pool, "pads", {0, 0, 0, 0}) != std::vector<int64_t>{0, 0, 0, 0} ||
      G.attr_int(pool, "ceil_mode", 0) != 0 || G.attr_ints(pool, "dilations", {1, 1}) != std::vector<int64_t>{1, 1})
    G.fail(pool, "is not VGG-16's 2x2 max pool with stride 2");
}

}  // namespace

// features: 5 stages of 2 2 3 3 3 (Conv 3x3 pad 1 with bias, Relu), each ending in a MaxPool;
// avgpool: AveragePool kernel = stride = k (what adaptive pooling to 7x7 is on a 7k x 7k map,
// as torch exports it) or nothing (a 7x7 map); Flatten; classifier: Gemm Relu Gemm Relu Gemm
// (dropout is the identity in eval and exporters leave it out).
Walked walk_vgg16(Graph& G, int first, const std::string& logits) {
  G.net = "VGG-16";
  std::map<std::string, Tensor> t;
  const int convs_per_stage[5] = {2, 2, 3, 3, 3}, width_times[5] = {1, 2, 4, 8, 8};
  int64_t width = 0, in = 3;
  int index = 0, at = -1;  // features.<index>; the node giving `cur`
  std::string cur;
  for (int s = 0; s < 5; ++s) {
    for (int j = 0; j < convs_per_stage[s]; ++j) {
      int conv = first;
      if (at < 0)
        G.take(first);
      else
        conv = G.next(cur, at, "Conv");
      const ConvBn c = G.conv_bn(conv);
      if (!c.folded_bn) G.fail(conv, "is followed by a batch norm: torchvision's vgg16() has none (vgg16_bn)");
      if (width == 0) width = c.weight.size(0);
      const Shape want{width * width_times[s], in, 3, 3};
      if (c.weight.shape() != want)
        G.fail(conv, "has a weight of shape " + to_string(c.weight.shape()) + ", features." + std::to_string(index) +
                         " of a VGG-16 of width " + std::to_string(width) + " has " + to_string(want));
      if (c.stride != 1 || c.pad != 1) G.fail(conv, "is not a 3x3 conv with stride 1 and padding 1 as VGG-16's");
      const std::string name = "features." + std::to_string(index);
      t[name + ".weight"] = c.weight;
      t[name + ".bias"] = c.beta;  // the conv's bias (zeros if it had none)
      at = G.next(c.out, conv, "Relu");
      cur = G.node(at).output(0);
      in = want[0];
      index += 2;
    }
    const int pool = G.next(cur, at, "MaxPool");
    expect_vgg_pool(G, pool);
    cur = G.node(pool).output(0);
    at = pool;
    ++index;
  }
  Walked w;
  const int after = G.next(cur, at, "AveragePool|Flatten");
  int flatten = after;
  if (G.op(after) == "AveragePool") {
    const auto k = G.attr_ints(after, "kernel_shape", {});
    if (k.size() != 2 || k[0] != k[1] || k[0] < 1 || G.attr_ints(after, "strides", {1, 1}) != k ||
        G.attr_ints(after, "pads", {0, 0, 0, 0}) != std::vector<int64_t>{0, 0, 0, 0} ||
        G.attr_int(after, "ceil_mode", 0) != 0)
      G.fail(after, "is not adaptive pooling to 7x7 (an AveragePool whose kernel is its stride, unpadded)");
    if (k[0] > 1)
      w.notes.push_back("the file pools " + std::to_string(k[0]) + "x" + std::to_string(k[0]) +
                        " windows before the classifier (adaptive pooling to 7x7 of a " + std::to_string(7 * k[0]) +
                        "x" + std::to_string(7 * k[0]) + " map); scratchnet's VGG-16 pools adaptively at any size");
    flatten = G.next(G.node(after).output(0), after, "Flatten");
  }
  if (G.attr_int(flatten, "axis", 1) != 1) G.fail(flatten, "does not flatten from axis 1");
  cur = G.node(flatten).output(0);
  at = flatten;
  int64_t features = in * 7 * 7;
  for (int i : {0, 3, 6}) {
    const int fc = G.next(cur, at, "Gemm|MatMul");
    const Graph::Linear l = G.linear(fc);
    if (l.weight.size(1) != features)
      G.fail(fc, "takes " + std::to_string(l.weight.size(1)) + " features, VGG-16's classifier." + std::to_string(i) +
                     " takes " + std::to_string(features));
    t["classifier." + std::to_string(i) + ".weight"] = l.weight;
    t["classifier." + std::to_string(i) + ".bias"] = l.bias;
    features = l.weight.size(0);
    cur = l.out;
    at = l.last;
    if (i < 6) {
      at = G.next(cur, at, "Relu");
      cur = G.node(at).output(0);
    } else {
      expect_logits(G, l, logits);
    }
  }
  w.arch = "vgg16";
  w.tensors = match_backbone(w.arch, t, G.src(), 1e-5, w.model);
  return w;
}

// features.0: Conv 3x3 stride 2 + BN + Clip(0, 6); features.1..17: inverted residual blocks
// ([expand 1x1 + BN + Clip,] depthwise 3x3 (group = channels) + BN + Clip, project 1x1 + BN,
// then Add of the block's input where the stride is 1 and the channels stay); features.18:
// Conv 1x1 + BN + Clip; GlobalAveragePool (or ReduceMean), Flatten, classifier.1: Gemm.
Walked walk_mobilenet_v2(Graph& G, int first, const std::string& logits) {
  G.net = "MobileNetV2";
  // torchvision's strides of features.1..17 (its inverted_residual_setting: the first block of each setting).
  static const int kStride[18] = {0, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};
  std::map<std::string, Tensor> t;
  Walked w;
  auto count = [&](const ConvBn& c) { w.folded += c.folded_bn, w.biased += c.bias_into_mean; };
  // A conv and its batch norm, then a Clip (ReLU6) when there is one -> the output after it.
  struct Unit {
    ConvBn c;
    int node = -1, end = -1;  // the Conv; the node giving `out`
    bool relu6 = false;
    std::string out;
  };
  auto unit = [&](int conv) {
    Unit u;
    u.node = conv;
    u.c = G.conv_bn(conv, /*grouped=*/true);
    count(u.c);
    u.out = u.c.out;
    u.end = G.producer(u.out);
    const auto& after = G.consumers(u.out);
    if (after.size() == 1 && G.op(after[0]) == "Clip") {
      G.take(after[0]);
      G.expect_relu6(after[0]);
      u.relu6 = true;
      u.end = after[0];
      u.out = G.node(after[0]).output(0);
    }
    return u;
  };
  auto expect = [&](const Unit& u, int64_t k, int64_t stride, int64_t groups, const std::string& what) {
    if (conv_k(u.c) != k || u.c.stride != stride || u.c.pad != k / 2 || u.c.groups != groups)
      G.fail(u.node, "is not " + what + " (" + std::to_string(k) + "x" + std::to_string(k) + ", stride " +
                         std::to_string(stride) + ", padding " + std::to_string(k / 2) + ", group " +
                         std::to_string(groups) + ")");
  };

  G.take(first);
  Unit stem = unit(first);
  if (!stem.relu6) G.fail(first, "is not followed by a ReLU6 (Clip) as MobileNetV2's features.0");
  expect(stem, 3, 2, 1, "MobileNetV2's features.0");
  put(t, "features.0.0", "features.0.1", stem.c);
  std::string cur = stem.out;
  int at = stem.end, index = 1;
  for (;;) {
    std::vector<int> convs, adds;
    for (int i : G.consumers(cur)) (G.op(i) == "Conv" ? convs : adds).push_back(i);
    if (convs.size() != 1 || adds.size() > 1 || (adds.size() == 1 && G.op(adds[0]) != "Add"))
      G.fail(at, "feeds " + std::to_string(G.consumers(cur).size()) +
                     " nodes where a MobileNetV2 block starts: its input goes into a Conv, and an Add where the block "
                     "adds its input");
    const bool residual = adds.size() == 1;
    const std::string block_in = cur;
    G.take(convs[0]);
    std::vector<Unit> units{unit(convs[0])};
    while (units.back().relu6 && units.size() < 3) {
      const auto& after = G.consumers(units.back().out);
      if (units.size() == 1 && !residual && after.size() == 1 &&
          (G.op(after[0]) == "GlobalAveragePool" || G.op(after[0]) == "ReduceMean"))
        break;  // features.18, before the pooling
      units.push_back(unit(G.next(units.back().out, units.back().end, "Conv")));
    }
    if (units.size() == 1 && units[0].relu6) {  // features.18
      if (index != 18)
        G.fail(units[0].node, "ends the blocks after " + std::to_string(index - 1) + "; a MobileNetV2 has 17");
      expect(units[0], 1, 1, 1, "MobileNetV2's features.18");
      put(t, "features.18.0", "features.18.1", units[0].c);
      cur = units[0].out;
      at = units[0].end;
      break;
    }
    if (index > 17) G.fail(units[0].node, "starts an 18th inverted residual block; a MobileNetV2 has 17");
    const Unit& project = units.back();
    if (project.relu6 || units.size() < 2)
      G.fail(project.node, "is not an inverted residual block's projection (a 1x1 conv and batch norm, no ReLU6)");
    const Unit& dw = units[units.size() - 2];
    const int64_t hidden = dw.c.weight.size(0);
    expect(dw, 3, kStride[index], hidden, "the depthwise conv of MobileNetV2's features." + std::to_string(index));
    if (units.size() == 3) expect(units[0], 1, 1, 1, "an inverted residual block's expansion");
    expect(project, 1, 1, 1, "an inverted residual block's projection");
    const int64_t in_ch = units[0].c.weight.size(1) * units[0].c.groups, out_ch = project.c.weight.size(0);
    const bool adds_input = kStride[index] == 1 && in_ch == out_ch;  // torchvision's use_res_connect
    if (residual != adds_input)
      G.fail(units[0].node, std::string("starts features.") + std::to_string(index) +
                                (adds_input ? ", which adds its input (stride 1, channels kept), without the Add"
                                            : ", which does not add its input, with an Add"));
    const std::string p = "features." + std::to_string(index) + ".conv.";
    for (size_t j = 0; j + 1 < units.size(); ++j)
      put(t, p + std::to_string(j) + ".0", p + std::to_string(j) + ".1", units[j].c);
    put(t, p + std::to_string(units.size() - 1), p + std::to_string(units.size()), project.c);
    cur = project.out;
    at = project.end;
    if (residual) {
      const int add = G.next(cur, at, "Add");
      const auto& an = G.node(add);
      const std::set<std::string> ins(an.input().begin(), an.input().end()), want{cur, block_in};
      if (add != adds[0] || an.input_size() != 2 || ins != want)
        G.fail(add, "does not add the block's input and its projection");
      cur = an.output(0);
      at = add;
    }
    ++index;
  }
  const int gp = G.next(cur, at, "GlobalAveragePool|ReduceMean");
  std::tie(cur, at) = G.global_pool(gp);
  const int fc = G.next(cur, at, "Gemm|MatMul");
  const Graph::Linear l = G.linear(fc);
  t["classifier.1.weight"] = l.weight;
  t["classifier.1.bias"] = l.bias;
  expect_logits(G, l, logits);
  w.arch = "mobilenet_v2";
  w.tensors = match_backbone(w.arch, t, G.src(), shortest_double(G.eps), w.model);
  return w;
}

}  // namespace sn::models::onnx_import
