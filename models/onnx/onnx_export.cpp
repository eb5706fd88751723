// onnx_export.cpp — the model around the graph (opset, input, output, metadata, the ONNX
// checker and shape inference) and the ResNet's graph; VGG-16's and MobileNetV2's:
// onnx_export_backbones.cpp.
#include "models/onnx/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "models/mobilenet_v2.h"
#include "models/onnx/onnx_writer.h"
#include "models/vgg.h"

namespace sn::models {

namespace {

using onnx_export::GraphWriter;

// relu(h + shortcut), the shortcut being x or downsample(x).
std::string residual(GraphWriter& w, const std::string& h, const std::string& x, const std::string& p,
                     const nn::Sequential* ds) {
  std::string shortcut = x;
  if (ds) {
    const auto* c = ds->size() == 2 ? dynamic_cast<const nn::Conv2d*>(&(*ds)[0]) : nullptr;
    const auto* n = ds->size() == 2 ? dynamic_cast<const nn::BatchNorm2d*>(&(*ds)[1]) : nullptr;
    SN_CHECK(c && n, "ONNX export: ", p, ".downsample is not Conv2d + BatchNorm2d");
    shortcut = w.conv_bn(x, p + ".downsample.0", *c, p + ".downsample.1", *n);
  }
  w.node("Add", p + ".add", {h, shortcut});
  return w.relu(p + ".add", p + ".relu_out");
}

std::string block(GraphWriter& w, const std::string& x, const std::string& p, const BasicBlock& b) {
  std::string h = w.relu(w.conv_bn(x, p + ".conv1", *b.conv1, p + ".bn1", *b.bn1), p + ".relu1");
  h = w.conv_bn(h, p + ".conv2", *b.conv2, p + ".bn2", *b.bn2);
  return residual(w, h, x, p, b.downsample.get());
}
std::string block(GraphWriter& w, const std::string& x, const std::string& p, const Bottleneck& b) {
  std::string h = w.relu(w.conv_bn(x, p + ".conv1", *b.conv1, p + ".bn1", *b.bn1), p + ".relu1");
  h = w.relu(w.conv_bn(h, p + ".conv2", *b.conv2, p + ".bn2", *b.bn2), p + ".relu2");
  h = w.conv_bn(h, p + ".conv3", *b.conv3, p + ".bn3", *b.bn3);
  return residual(w, h, x, p, b.downsample.get());
}

// conv1 bn1 relu maxpool, layer1..4 of blocks, avgpool, flatten, fc -> the fc node.
onnx::NodeProto* resnet_graph(GraphWriter& w, const ResNet& net) {
  const auto layout = resnet_layout(net.config().arch);
  std::string h = w.relu(w.conv_bn("input", "conv1", *net.conv1, "bn1", *net.bn1), "relu");
  onnx::NodeProto* pool = w.node("MaxPool", "maxpool", {h});
  GraphWriter::ints(pool, "kernel_shape", {net.maxpool->kernel_size, net.maxpool->kernel_size});
  GraphWriter::ints(pool, "strides", {net.maxpool->stride, net.maxpool->stride});
  const int64_t mp = net.maxpool->padding;
  GraphWriter::ints(pool, "pads", {mp, mp, mp, mp});
  h = "maxpool";
  const std::shared_ptr<nn::Sequential> stages[] = {net.layer1, net.layer2, net.layer3, net.layer4};
  for (int s = 0; s < 4; ++s) {
    const std::string stage = "layer" + std::to_string(s + 1);
    for (size_t i = 0; i < stages[s]->size(); ++i) {
      const std::string p = stage + "." + std::to_string(i);
      const nn::Module& b = (*stages[s])[i];
      if (layout.bottleneck)
        h = block(w, h, p, dynamic_cast<const Bottleneck&>(b));
      else
        h = block(w, h, p, dynamic_cast<const BasicBlock&>(b));
    }
  }
  w.node("GlobalAveragePool", "avgpool", {h});
  GraphWriter::integer(w.node("Flatten", "flatten", {"avgpool"}), "axis", 1);
  return w.gemm("flatten", "fc", *net.fc);
}

void set_meta(onnx::ModelProto& m, const std::string& key, const std::string& value) {
  auto* p = m.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

nlohmann::json preprocessing_json(const io::Preprocessing& p) {
  return {{"channel_order", p.channel_order},
          {"scale", p.scale},
          {"mean", p.mean},
          {"std", p.std},
          {"resize", p.resize},
          {"crop", p.crop}};
}

}  // namespace

void write_onnx(const std::string& path, const Classifier& net, const io::WeightMeta& meta) {
  const std::string arch = net.architecture();
  const int64_t crop = meta.preprocessing.crop, classes = net.num_classes();

  onnx::ModelProto m;
  m.set_ir_version(onnx::IR_VERSION);
  m.set_producer_name("scratchnet");
  m.set_producer_version(SCRATCHNET_VERSION);
  m.set_model_version(1);
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);

  onnx::GraphProto& g = *m.mutable_graph();
  g.set_name(arch);
  GraphWriter w(g);
  {
    onnx::ValueInfoProto* in = g.add_input();
    in->set_name("input");
    auto* t = in->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("batch");
    for (int64_t d : {int64_t(3), crop, crop}) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  onnx::NodeProto* last = nullptr;
  if (const auto* resnet = dynamic_cast<const ResNet*>(&net))
    last = resnet_graph(w, *resnet);
  else if (const auto* vgg = dynamic_cast<const VGG*>(&net))
    last = onnx_export::vgg16_graph(w, *vgg, crop);
  else if (const auto* mobile = dynamic_cast<const MobileNetV2*>(&net))
    last = onnx_export::mobilenet_v2_graph(w, *mobile);
  else
    SN_USER_FAIL("ONNX export: no ONNX graph for a ", net.architecture());
  last->set_output(0, "logits");
  {
    onnx::ValueInfoProto* out = g.add_output();
    out->set_name("logits");
    auto* t = out->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("batch");
    t->mutable_shape()->add_dim()->set_dim_value(classes);
  }

  // What a user needs to feed it and read its answer.
  const io::Preprocessing& pp = meta.preprocessing;
  char formula[512];
  std::snprintf(formula, sizeof formula,
                "input (batch, 3, %lld, %lld): an RGB image resized so its shorter side is %d, center-cropped to "
                "%d x %d; pixel values p in [0, 255]; channel c of the input is (p[%s[c]] * %g - mean[c]) / std[c] "
                "with mean [%g, %g, %g], std [%g, %g, %g]. Output: logits over %lld classes (metadata "
                "scratchnet.labels); softmax gives probabilities.",
                static_cast<long long>(crop), static_cast<long long>(crop), pp.resize, pp.crop, pp.crop,
                pp.channel_order.c_str(), pp.scale, pp.mean[0], pp.mean[1], pp.mean[2], pp.std[0], pp.std[1], pp.std[2],
                static_cast<long long>(classes));
  m.set_doc_string(std::string("scratchnet ") + arch + ". " + formula);
  g.set_doc_string(formula);
  set_meta(m, "scratchnet.preprocessing", preprocessing_json(pp).dump());
  set_meta(m, "scratchnet.labels", nlohmann::json(meta.labels).dump());
  set_meta(m, "scratchnet.architecture", arch);
  set_meta(m, "scratchnet.model", net.options().dump());
  set_meta(m, "scratchnet.metadata", meta.metadata.dump());

  // The ONNX project's own checks, and the output shape its shape inference finds.
  try {
    onnx::checker::check_model(m);
    onnx::ModelProto inferred = m;
    onnx::shape_inference::InferShapes(inferred);
    const auto& shape = inferred.graph().output(0).type().tensor_type().shape();
    SN_CHECK(shape.dim_size() == 2 && shape.dim(1).dim_value() == classes, "ONNX shape inference gives the output ",
             shape.DebugString(), ", expected (batch, ", classes, ")");
  } catch (const onnx::checker::ValidationError& e) {
    SN_FAIL("ONNX export to ", path, ": the ONNX checker refuses the model: ", e.what());
  } catch (const onnx::InferenceError& e) {
    SN_FAIL("ONNX export to ", path, ": ONNX shape inference fails: ", e.what());
  }
  std::string bytes;
  SN_CHECK(m.SerializeToString(&bytes), "ONNX export to ", path, ": protobuf could not serialize the model");
  io::write_file_atomic(path, bytes);
}

}  // namespace sn::models
