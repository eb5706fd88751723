// onnx_export_backbones.cpp — VGG-16's and MobileNetV2's ONNX graphs, module by module,
// nodes named as the modules and weights as torchvision's state_dict (onnx_export.h).
#include <string>

#include "engine/check.h"
#include "models/mobilenet_v2.h"
#include "models/onnx/onnx_writer.h"
#include "models/vgg.h"

namespace sn::models::onnx_export {

onnx::NodeProto* vgg16_graph(GraphWriter& w, const VGG& net, int64_t crop) {
  std::string h = "input";
  int64_t size = crop;  // of the (square) map, followed through the pools
  for (size_t i = 0; i < net.features->size(); ++i) {
    const nn::Module& m = (*net.features)[i];
    const std::string name = "features." + std::to_string(i);
    if (const auto* c = dynamic_cast<const nn::Conv2d*>(&m)) {
      h = w.conv(h, name, *c);
      size = (size + 2 * c->params.padding - c->kernel_size) / c->params.stride + 1;
    } else if (dynamic_cast<const nn::ReLU*>(&m)) {
      h = w.relu(h, name);
    } else if (const auto* p = dynamic_cast<const nn::MaxPool2d*>(&m)) {
      onnx::NodeProto* n = w.node("MaxPool", name, {h});
      GraphWriter::ints(n, "kernel_shape", {p->kernel_size, p->kernel_size});
      GraphWriter::ints(n, "strides", {p->stride, p->stride});
      GraphWriter::ints(n, "pads", {p->padding, p->padding, p->padding, p->padding});
      h = name;
      size = (size + 2 * p->padding - p->kernel_size) / p->stride + 1;
    } else {
      SN_FAIL("ONNX export: ", name, " is a ", m.type_name(), ", not a layer of VGG-16");
    }
  }
  // Adaptive pooling to 7x7 is a plain average pool only where 7 divides the map (ONNX has no
  // adaptive pooling; torch's exporter refuses the other sizes too).
  const int64_t out = net.avgpool->out_h;
  SN_USER_CHECK(net.avgpool->out_w == out && size >= out && size % out == 0, "ONNX export of a vgg16 at crop ", crop,
                ": the map before its adaptive average pooling is ", size, "x", size, ", not a multiple of ", out, "x",
                out, " (ONNX has no adaptive pooling); export at a crop whose size / 32 is a multiple of 7, e.g. 224");
  onnx::NodeProto* pool = w.node("AveragePool", "avgpool", {h});
  GraphWriter::ints(pool, "kernel_shape", {size / out, size / out});
  GraphWriter::ints(pool, "strides", {size / out, size / out});
  GraphWriter::integer(w.node("Flatten", "flatten", {"avgpool"}), "axis", 1);
  h = "flatten";
  onnx::NodeProto* last = nullptr;
  for (size_t i = 0; i < net.classifier->size(); ++i) {
    const nn::Module& m = (*net.classifier)[i];
    const std::string name = "classifier." + std::to_string(i);
    if (const auto* l = dynamic_cast<const nn::Linear*>(&m)) {
      last = w.gemm(h, name, *l);
      h = name;
    } else if (dynamic_cast<const nn::ReLU*>(&m)) {
      h = w.relu(h, name);
    } else {
      SN_CHECK(dynamic_cast<const nn::Dropout*>(&m), "ONNX export: ", name, " is a ", m.type_name());
    }  // dropout: the identity in inference
  }
  SN_CHECK(last && h == last->name(), "ONNX export: VGG's classifier does not end with a Linear");
  return last;
}

namespace {

// Conv2d + BatchNorm2d (+ ReLU6) of torchvision's Conv2dNormActivation, named p.0 p.1 p.2.
std::string conv_bn_relu6(GraphWriter& w, const std::string& x, const std::string& p, const nn::Sequential& s) {
  const auto* c = s.size() == 3 ? dynamic_cast<const nn::Conv2d*>(&s[0]) : nullptr;
  const auto* b = s.size() == 3 ? dynamic_cast<const nn::BatchNorm2d*>(&s[1]) : nullptr;
  SN_CHECK(c && b && dynamic_cast<const nn::ReLU6*>(&s[2]), "ONNX export: ", p, " is not Conv2d, BatchNorm2d, ReLU6");
  return w.relu6(w.conv_bn(x, p + ".0", *c, p + ".1", *b), p + ".2");
}

}  // namespace

onnx::NodeProto* mobilenet_v2_graph(GraphWriter& w, const MobileNetV2& net) {
  std::string h = "input";
  for (size_t i = 0; i < net.features->size(); ++i) {
    const nn::Module& m = (*net.features)[i];
    const std::string name = "features." + std::to_string(i);
    if (const auto* s = dynamic_cast<const ConvBNReLU6*>(&m)) {
      h = conv_bn_relu6(w, h, name, *s);
      continue;
    }
    const auto* b = dynamic_cast<const InvertedResidual*>(&m);
    SN_CHECK(b, "ONNX export: ", name, " is a ", m.type_name(), ", not a layer of MobileNetV2");
    const std::string x = h;
    const nn::Sequential& conv = *b->conv;
    for (size_t j = 0; j < conv.size(); ++j) {
      const std::string p = name + ".conv." + std::to_string(j);
      if (const auto* s = dynamic_cast<const ConvBNReLU6*>(&conv[j])) {
        h = conv_bn_relu6(w, h, p, *s);
        continue;
      }
      // The projection: Conv2d then BatchNorm2d, no activation.
      const auto* c = dynamic_cast<const nn::Conv2d*>(&conv[j]);
      const auto* n = j + 1 < conv.size() ? dynamic_cast<const nn::BatchNorm2d*>(&conv[j + 1]) : nullptr;
      SN_CHECK(c && n, "ONNX export: ", p, " is not a Conv2d followed by a BatchNorm2d");
      h = w.conv_bn(h, p, *c, name + ".conv." + std::to_string(j + 1), *n);
      ++j;
    }
    if (b->use_res_connect) h = w.node("Add", name + ".add", {x, h})->output(0);
  }
  w.node("GlobalAveragePool", "avgpool", {h});
  GraphWriter::integer(w.node("Flatten", "flatten", {"avgpool"}), "axis", 1);
  const auto* fc = net.classifier->size() == 2 ? dynamic_cast<const nn::Linear*>(&(*net.classifier)[1]) : nullptr;
  SN_CHECK(fc && dynamic_cast<const nn::Dropout*>(&(*net.classifier)[0]),
           "ONNX export: MobileNetV2's classifier is not Dropout, Linear");
  return w.gemm("flatten", "classifier.1", *fc);
}

}  // namespace sn::models::onnx_export
