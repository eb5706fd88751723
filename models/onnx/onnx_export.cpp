#include "models/onnx/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::models {

namespace {

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
    integer(n, "group", 1);
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

  std::string block(const std::string& x, const std::string& p, const BasicBlock& b) {
    std::string h = relu(conv_bn(x, p + ".conv1", *b.conv1, p + ".bn1", *b.bn1), p + ".relu1");
    h = conv_bn(h, p + ".conv2", *b.conv2, p + ".bn2", *b.bn2);
    return residual(h, x, p, b.downsample.get());
  }
  std::string block(const std::string& x, const std::string& p, const Bottleneck& b) {
    std::string h = relu(conv_bn(x, p + ".conv1", *b.conv1, p + ".bn1", *b.bn1), p + ".relu1");
    h = relu(conv_bn(h, p + ".conv2", *b.conv2, p + ".bn2", *b.bn2), p + ".relu2");
    h = conv_bn(h, p + ".conv3", *b.conv3, p + ".bn3", *b.bn3);
    return residual(h, x, p, b.downsample.get());
  }

  // relu(h + shortcut), the shortcut being x or downsample(x).
  std::string residual(const std::string& h, const std::string& x, const std::string& p, const nn::Sequential* ds) {
    std::string shortcut = x;
    if (ds) {
      const auto* c = ds->size() == 2 ? dynamic_cast<const nn::Conv2d*>(&(*ds)[0]) : nullptr;
      const auto* n = ds->size() == 2 ? dynamic_cast<const nn::BatchNorm2d*>(&(*ds)[1]) : nullptr;
      SN_CHECK(c && n, "ONNX export: ", p, ".downsample is not Conv2d + BatchNorm2d");
      shortcut = conv_bn(x, p + ".downsample.0", *c, p + ".downsample.1", *n);
    }
    node("Add", p + ".add", {h, shortcut});
    return relu(p + ".add", p + ".relu_out");
  }

 private:
  onnx::GraphProto& g_;
};

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

void write_onnx(const std::string& path, const ResNet& net, const io::WeightMeta& meta) {
  const ResNetConfig& cfg = net.config();
  const auto layout = resnet_layout(cfg.arch);
  const int64_t crop = meta.preprocessing.crop, classes = cfg.num_classes;

  onnx::ModelProto m;
  m.set_ir_version(onnx::IR_VERSION);
  m.set_producer_name("scratchnet");
  m.set_producer_version(SCRATCHNET_VERSION);
  m.set_model_version(1);
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);

  onnx::GraphProto& g = *m.mutable_graph();
  g.set_name(cfg.arch);
  GraphWriter w(g);
  {
    onnx::ValueInfoProto* in = g.add_input();
    in->set_name("input");
    auto* t = in->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("batch");
    for (int64_t d : {int64_t(3), crop, crop}) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
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
        h = w.block(h, p, dynamic_cast<const Bottleneck&>(b));
      else
        h = w.block(h, p, dynamic_cast<const BasicBlock&>(b));
    }
  }
  w.node("GlobalAveragePool", "avgpool", {h});
  GraphWriter::integer(w.node("Flatten", "flatten", {"avgpool"}), "axis", 1);
  w.initializer("fc.weight", net.fc->weight);
  w.initializer("fc.bias", net.fc->bias);
  onnx::NodeProto* fc = w.node("Gemm", "fc", {"flatten", "fc.weight", "fc.bias"});
  GraphWriter::integer(fc, "transB", 1);
  fc->set_output(0, "logits");
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
  m.set_doc_string(std::string("scratchnet ") + cfg.arch + ". " + formula);
  g.set_doc_string(formula);
  set_meta(m, "scratchnet.preprocessing", preprocessing_json(pp).dump());
  set_meta(m, "scratchnet.labels", nlohmann::json(meta.labels).dump());
  set_meta(m, "scratchnet.architecture", cfg.arch);
  set_meta(m, "scratchnet.model", cfg.to_json().dump());
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
