#include "models/resnet.h"

#include <cmath>

#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "engine/nn/init.h"
#include "engine/ops.h"
#include "models/fused_resnet.h"

namespace sn::models {

ResNetLayout resnet_layout(const std::string& arch) {
  if (arch == "resnet18") return {{2, 2, 2, 2}, false};
  if (arch == "resnet34") return {{3, 4, 6, 3}, false};
  if (arch == "resnet50") return {{3, 4, 6, 3}, true};
  if (arch == "resnet101") return {{3, 4, 23, 3}, true};
  if (arch == "resnet152") return {{3, 8, 36, 3}, true};
  SN_USER_FAIL("unknown architecture '", arch, "' (known: resnet18, resnet34, resnet50, resnet101, resnet152)");
}

nlohmann::json ResNetConfig::to_json() const {
  return {{"num_classes", num_classes},
          {"width", width},
          {"block_stride", block_stride == BlockStride::V1 ? "v1" : "v1.5"},
          {"bn_eps", bn_eps}};
}

ResNetConfig ResNetConfig::from_json(const std::string& arch, const nlohmann::json& j) {
  ResNetConfig c;
  c.arch = arch;
  resnet_layout(arch);  // validates the name
  try {
    c.num_classes = j.value("num_classes", 1000);
    c.width = j.value("width", 64);
    const std::string stride = j.value("block_stride", "v1.5");
    SN_USER_CHECK(stride == "v1" || stride == "v1.5", "block_stride is '", stride, "', expected \"v1\" or \"v1.5\"");
    c.block_stride = stride == "v1" ? BlockStride::V1 : BlockStride::V1_5;
    c.bn_eps = j.value("bn_eps", 1e-5);
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL("bad ResNet options ", j.dump(), ": ", e.what());
  }
  SN_USER_CHECK(c.num_classes > 0 && c.width > 0 && c.bn_eps > 0, "bad ResNet options ", j.dump());
  return c;
}

// torchvision: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
// i.e. N(0, 2 / (K*R*S)): keeps activations' variance through ReLU stacks.
static std::shared_ptr<nn::Conv2d> conv(int in, int out, int k, int stride, int pad, Rng& rng) {
  auto c = std::make_shared<nn::Conv2d>(in, out, k, stride, pad, /*bias=*/false, rng);
  if (!nn::init_skipped())
    c->weight.copy_(Tensor::randn(c->weight.shape(), rng, std::sqrt(2.f / static_cast<float>(out * k * k))));
  return c;
}

// The projection shortcut: 1x1 conv (with the block's stride) + batch norm.
static std::shared_ptr<nn::Sequential> shortcut(int in, int out, int stride, const ResNetConfig& cfg, Rng& rng) {
  auto s = std::make_shared<nn::Sequential>();
  s->append(conv(in, out, 1, stride, 0, rng));
  s->append(std::make_shared<nn::BatchNorm2d>(out, float(cfg.bn_eps)));
  return s;
}

// ---- BasicBlock ---------------------------------------------------------------------

BasicBlock::BasicBlock(int inplanes, int planes, int stride, const ResNetConfig& cfg, Rng& rng) {
  // Registration order = torchvision's attribute order = state_dict order.
  conv1 = register_module("conv1", conv(inplanes, planes, 3, stride, 1, rng));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes, float(cfg.bn_eps)));
  relu = register_module("relu", std::make_shared<nn::ReLU>());
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1, rng));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes, float(cfg.bn_eps)));
  if (stride != 1 || inplanes != planes * kExpansion)
    downsample = register_module("downsample", shortcut(inplanes, planes * kExpansion, stride, cfg, rng));
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu->forward(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  const Tensor identity = downsample ? downsample->forward(x) : x;
  return relu->forward(add(out, identity));
}

// ---- Bottleneck ---------------------------------------------------------------------

Bottleneck::Bottleneck(int inplanes, int planes, int stride, const ResNetConfig& cfg, Rng& rng) {
  // v1.5 strides in the 3x3 conv, which sees every input pixel; v1 strides in
  // the first 1x1 conv, which skips 3 of every 4 pixels (slightly less accurate).
  const bool v1 = cfg.block_stride == BlockStride::V1;
  conv1 = register_module("conv1", conv(inplanes, planes, 1, v1 ? stride : 1, 0, rng));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes, float(cfg.bn_eps)));
  conv2 = register_module("conv2", conv(planes, planes, 3, v1 ? 1 : stride, 1, rng));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes, float(cfg.bn_eps)));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0, rng));
  bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(planes * kExpansion, float(cfg.bn_eps)));
  relu = register_module("relu", std::make_shared<nn::ReLU>());
  if (stride != 1 || inplanes != planes * kExpansion)
    downsample = register_module("downsample", shortcut(inplanes, planes * kExpansion, stride, cfg, rng));
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = relu->forward(bn1->forward(conv1->forward(x)));
  out = relu->forward(bn2->forward(conv2->forward(out)));
  out = bn3->forward(conv3->forward(out));
  const Tensor identity = downsample ? downsample->forward(x) : x;
  return relu->forward(add(out, identity));
}

// ---- ResNet -------------------------------------------------------------------------

template <typename Block>
static std::shared_ptr<nn::Sequential> make_stage(int& inplanes, int planes, int blocks, int stride,
                                                  const ResNetConfig& cfg, Rng& rng) {
  auto stage = std::make_shared<nn::Sequential>();
  for (int i = 0; i < blocks; ++i) {
    stage->append(std::make_shared<Block>(inplanes, planes, i == 0 ? stride : 1, cfg, rng));
    inplanes = planes * Block::kExpansion;
  }
  return stage;
}

ResNet::ResNet(const ResNetConfig& cfg, Rng& rng) : cfg_(cfg) {
  const ResNetLayout layout = resnet_layout(cfg.arch);
  const int w = cfg.width;
  conv1 = register_module("conv1", conv(3, w, 7, 2, 3, rng));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(w, float(cfg.bn_eps)));
  relu = register_module("relu", std::make_shared<nn::ReLU>());
  maxpool = register_module("maxpool", std::make_shared<nn::MaxPool2d>(3, 2, 1));
  int inplanes = w;
  std::shared_ptr<nn::Sequential>* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int s = 0; s < 4; ++s) {
    const int planes = w << s, stride = s == 0 ? 1 : 2;
    *stages[s] = layout.bottleneck ? make_stage<Bottleneck>(inplanes, planes, layout.blocks[s], stride, cfg, rng)
                                   : make_stage<BasicBlock>(inplanes, planes, layout.blocks[s], stride, cfg, rng);
    register_module("layer" + std::to_string(s + 1), *stages[s]);
  }
  num_features_ = inplanes;
  avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>());
  fc = register_module("fc", std::make_shared<nn::Linear>(num_features_, cfg.num_classes, true, rng));
}

Tensor ResNet::features(const Tensor& x) {
  SN_CHECK(x.ndim() == 4 && x.size(1) == 3, "ResNet input must be (N, 3, H, W), got ", to_string(x.shape()));
  Tensor y = maxpool->forward(relu->forward(bn1->forward(conv1->forward(x))));
  y = layer4->forward(layer3->forward(layer2->forward(layer1->forward(y))));
  return flatten(avgpool->forward(y));
}

Tensor ResNet::forward(const Tensor& x) { return fc->forward(features(x)); }

const std::vector<std::string>& ResNet::feature_stages() const {
  static const std::vector<std::string> stages{"conv1",  "bn1",    "relu",   "maxpool", "layer1",
                                               "layer2", "layer3", "layer4", "avgpool"};
  return stages;
}

namespace {
// The blocked-layout copy of the feature stages (fused_resnet.h) behind the FeatureSnapshot interface.
class FusedFeatures : public FeatureSnapshot {
 public:
  FusedFeatures(const ResNet& net, bool batch_stats, bool bf16)
      : fused_(net, batch_stats ? FusedResNet::BatchNorm::BatchStats : FusedResNet::BatchNorm::Folded,
               bf16 ? FusedResNet::Precision::BF16 : FusedResNet::Precision::F32) {}
  Tensor features(const Tensor& x) const override { return fused_.features(x); }

 private:
  FusedResNet fused_;
};
}  // namespace

std::shared_ptr<const FeatureSnapshot> ResNet::feature_snapshot(bool batch_stats, bool bf16) const {
  return std::make_shared<const FusedFeatures>(*this, batch_stats, bf16);
}

void ResNet::replace_fc(std::shared_ptr<nn::Linear> head) {
  SN_CHECK(head && head->in_features == num_features_, "the new classifier must take ", num_features_,
           " features, got ", head ? head->in_features : 0);
  replace_module("fc", head);
  fc = std::move(head);
  cfg_.num_classes = fc->out_features;
}

void ResNet::reset_classifier(int num_classes, Rng& rng) {
  replace_fc(std::make_shared<nn::Linear>(num_features_, num_classes, true, rng));
}

static std::shared_ptr<ResNet> make(const std::string& arch, int num_classes, Rng* rng) {
  ResNetConfig cfg;
  cfg.arch = arch;
  cfg.num_classes = num_classes;
  Rng fallback(0);
  return std::make_shared<ResNet>(cfg, rng ? *rng : fallback);
}
std::shared_ptr<ResNet> resnet18(int num_classes, Rng* rng) { return make("resnet18", num_classes, rng); }
std::shared_ptr<ResNet> resnet50(int num_classes, Rng* rng) { return make("resnet50", num_classes, rng); }

std::shared_ptr<ResNet> load_resnet(const io::WeightFile& file, bool allow_unexpected) {
  ResNetConfig cfg;
  try {
    cfg = ResNetConfig::from_json(file.meta().architecture, file.meta().model);
  } catch (const Error& e) {
    SN_USER_FAIL(file.path(), ": ", e.what());
  }
  Rng rng(0);
  std::shared_ptr<ResNet> model;
  {
    const nn::SkipInit skip;  // every value comes from the file: drawing them first cost ~1 s (ResNet-50)
    model = std::make_shared<ResNet>(cfg, rng);
  }
  file.load_into(*model, allow_unexpected);
  return model;
}

}  // namespace sn::models
