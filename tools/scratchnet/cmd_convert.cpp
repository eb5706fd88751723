// `scratchnet convert --from pth|tfjs|onnx SRC --out OUT.snw`: other frameworks'
// weights -> a scratchnet weight file (weights/FORMAT.md), in C++: torchvision
// .pth or ONNX of a ResNet, VGG-16 or MobileNetV2; a Keras ResNet-50 (TF.js).
//
//   scratchnet convert --from pth resnet18-f37072fd.pth --arch resnet18 --labels imagenet.json --out r18.snw
//   scratchnet convert --from pth vgg16-397923af.pth --labels imagenet.json --out weights/vgg16-imagenet.snw
//   scratchnet convert --from tfjs package/ResNet50 --labels package/assets/labels.json --out r50.snw
//   scratchnet convert --from onnx resnet18.onnx --labels imagenet.json --out r18.snw   (models/onnx/onnx_import.h)
#include <cstdio>
#include <memory>

#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "models/convert.h"
#include "models/zoo.h"
#include "tools/scratchnet/commands.h"
#if SCRATCHNET_ONNX
#include "models/onnx/onnx_import.h"
#endif

namespace {

struct Options {
  std::string from, src, out, arch, labels, source, license, block_stride = "v1.5";
  double bn_eps = 1e-5;
};

sn::models::Converted from_onnx(const Options& o) {
#if SCRATCHNET_ONNX
  sn::models::Converted c = sn::models::convert_onnx(o.src);
  SN_CHECK(o.arch.empty() || o.arch == c.meta.architecture, o.src, ": --arch ", o.arch, " was given but it holds a ",
           c.meta.architecture);
  return c;
#else
  SN_FAIL(
      "this scratchnet was built without ONNX support: install Debian's libonnx-dev (tools/install-deps.sh "
      "does) and build again");
#endif
}

int run_convert(const Options& o) {
  using namespace sn;
  models::Converted c;
  if (o.from == "onnx") {
    c = from_onnx(o);
  } else if (o.from == "pth") {
    models::PthOptions p;
    p.arch = o.arch;
    SN_USER_CHECK(o.block_stride == "v1" || o.block_stride == "v1.5", "--block-stride must be v1 or v1.5");
    p.block_stride = o.block_stride == "v1" ? models::BlockStride::V1 : models::BlockStride::V1_5;
    p.bn_eps = o.bn_eps;
    c = models::convert_pth(o.src, p);
  } else {
    c = models::convert_keras_resnet(io::read_tfjs(o.src));
    SN_USER_CHECK(o.arch.empty() || o.arch == c.meta.architecture, o.src, ": --arch ", o.arch,
                  " was given but it holds a ", c.meta.architecture);
  }
  if (!o.labels.empty()) {
    c.meta.labels = models::read_labels(o.labels);
    const int classes = c.meta.model.at("num_classes").get<int>();
    SN_USER_CHECK(static_cast<int>(c.meta.labels.size()) == classes, o.labels, " has ", c.meta.labels.size(),
                  " labels but the model has ", classes, " classes");
  }
  if (!o.source.empty()) c.meta.metadata["source"] = o.source;
  if (!o.license.empty()) c.meta.metadata["license"] = o.license;
  c.meta.metadata["converter"] = "scratchnet convert --from " + o.from;
  io::write_weight_file(o.out, c.meta, c.tensors);

  // Read the result back as a user would: checksums, then names and shapes against the model.
  io::WeightFile check(o.out);
  models::load_classifier(check);
  int64_t values = 0;
  for (const auto& t : check.tensors()) values += sn::numel(t.shape);
  for (const auto& n : c.notes) std::printf("note: %s\n", n.c_str());
  std::printf("wrote %s: %s %s, %zu tensors, %lld values\n", o.out.c_str(), c.meta.architecture.c_str(),
              c.meta.model.dump().c_str(), check.tensors().size(), static_cast<long long>(values));
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "convert",
      "Convert a PyTorch .pth or an ONNX file (ResNet, VGG-16, MobileNetV2) or a TF.js Keras ResNet-50 into a .snw "
      "weight file");
  auto o = std::make_shared<Options>();
  cmd->add_option("--from", o->from, "source format")->required()->check(CLI::IsMember({"pth", "tfjs", "onnx"}));
  cmd->add_option("src", o->src, "the .pth file, the TF.js model.json / its directory, or the .onnx file")->required();
  cmd->add_option("--out", o->out, "output .snw file")->required();
  cmd->add_option("--arch", o->arch,
                  "expected architecture (resnet18, resnet50, vgg16, mobilenet_v2, ...); inferred when omitted");
  cmd->add_option("--labels", o->labels, "class names: JSON array, or object {\"0\": name, ...}");
  cmd->add_option("--block-stride", o->block_stride, "pth only: v1.5 (torchvision) or v1")->capture_default_str();
  cmd->add_option("--bn-eps", o->bn_eps, "pth only: batch-norm epsilon (ResNet, MobileNetV2)")->capture_default_str();
  cmd->add_option("--source", o->source, "provenance recorded in the header (e.g. a package name and version)");
  cmd->add_option("--license", o->license, "license of the weights, recorded in the header");
  cmd->callback([o] { sn::cli::run([&] { return run_convert(*o); }); });
});
