#include "models/vgg.h"

#include <cmath>
#include <cstdint>

#include "engine/check.h"
#include "engine/nn/init.h"
#include "engine/ops.h"
#include "models/fused_vgg.h"

namespace sn::models {

nlohmann::json VGGConfig::to_json() const {
  return {{"num_classes", num_classes}, {"width", width}, {"hidden", hidden}, {"dropout", dropout}};
}

VGGConfig VGGConfig::from_json(const nlohmann::json& j) {
  VGGConfig c;
  try {
    c.num_classes = j.value("num_classes", 1000);
    c.width = j.value("width", 64);
    c.hidden = j.value("hidden", 4096);
    c.dropout = j.value("dropout", 0.5);
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL("bad VGG options ", j.dump(), ": ", e.what());
  }
  SN_USER_CHECK(c.num_classes > 0 && c.width > 0 && c.hidden > 0 && c.dropout >= 0 && c.dropout < 1, "bad VGG options ",
                j.dump());
  return c;
}

namespace {
// A layer built without its default uniform draw, which torchvision's normal draw below replaces:
// 138M uniform values were a fifth of VGG-16's ~8 s of construction.
template <typename Make>
auto built_undrawn(Make make) {
  const nn::SkipInit skip;
  return make();
}
}  // namespace

VGG::VGG(const VGGConfig& cfg, Rng& rng) : cfg_(cfg) {
  // torchvision's configuration "D"; 0 = a max pool.
  const int w = cfg.width;
  const std::vector<int> layout{w, w,     0,     2 * w, 2 * w, 0,     4 * w, 4 * w, 4 * w,
                                0, 8 * w, 8 * w, 8 * w, 0,     8 * w, 8 * w, 8 * w, 0};
  features = register_module("features", std::make_shared<nn::Sequential>());
  int in = 3;
  for (int c : layout) {
    if (c == 0) {
      features->append(std::make_shared<nn::MaxPool2d>(2, 2, 0));
      continue;
    }
    // torchvision: kaiming_normal_(fan_out, relu) = N(0, 2 / (K*3*3)), bias 0.
    const bool draw = !nn::init_skipped();
    auto conv = built_undrawn([&] { return std::make_shared<nn::Conv2d>(in, c, 3, 1, 1, /*bias=*/true, rng); });
    if (draw) conv->weight.copy_(Tensor::randn(conv->weight.shape(), rng, std::sqrt(2.f / static_cast<float>(c * 9))));
    conv->bias.copy_(Tensor::zeros({c}));
    features->append(conv);
    features->append(std::make_shared<nn::ReLU>());
    in = c;
  }
  avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(7, 7));
  classifier = register_module("classifier", std::make_shared<nn::Sequential>());
  auto linear = [&](int i, int o) {  // torchvision: N(0, 0.01), bias 0
    const bool draw = !nn::init_skipped();
    auto l = built_undrawn([&] { return std::make_shared<nn::Linear>(i, o, true, rng); });
    if (draw) l->weight.copy_(Tensor::randn(l->weight.shape(), rng, 0.01f));
    l->bias.copy_(Tensor::zeros({o}));
    return l;
  };
  const float p = static_cast<float>(cfg.dropout);
  classifier->append(linear(in * 7 * 7, cfg.hidden));
  classifier->append(std::make_shared<nn::ReLU>());
  classifier->append(std::make_shared<nn::Dropout>(p, rng.split().randint(0, INT64_MAX)));
  classifier->append(linear(cfg.hidden, cfg.hidden));
  classifier->append(std::make_shared<nn::ReLU>());
  classifier->append(std::make_shared<nn::Dropout>(p, rng.split().randint(0, INT64_MAX)));
  classifier->append(linear(cfg.hidden, cfg.num_classes));

  for (size_t i = 0; i < features->size(); ++i) stages_.push_back("features." + std::to_string(i));
  stages_.insert(stages_.end(), {"avgpool", "flatten"});
  for (int i = 0; i < 6; ++i) stages_.push_back("classifier." + std::to_string(i));
}

Tensor VGG::forward(const Tensor& x) {
  SN_CHECK(x.ndim() == 4 && x.size(1) == 3, "VGG input must be (N, 3, H, W), got ", to_string(x.shape()));
  return classifier->forward(flatten(avgpool->forward(features->forward(x)), 1));
}

namespace {
// The blocked-layout copy of the feature stages (fused_vgg.h) behind the FeatureSnapshot interface.
class FusedFeatures : public FeatureSnapshot {
 public:
  FusedFeatures(const VGG& net, bool bf16) : fused_(net, bf16 ? FusedVGG::Precision::BF16 : FusedVGG::Precision::F32) {}
  Tensor features(const Tensor& x) const override { return fused_.features(x); }

 private:
  FusedVGG fused_;
};
}  // namespace

std::shared_ptr<const FeatureSnapshot> VGG::feature_snapshot(bool batch_stats, bool bf16) const {
  // Training mode changes nothing but dropout here (no batch norm): with an
  // active dropout the snapshot, which is inference only, does not apply.
  // (Only the feature stages count: the head, classifier.6, is not in the snapshot.)
  if (batch_stats)
    for (int i = 0; "classifier." + std::to_string(i) != head_name(); ++i)
      if (const auto* d = dynamic_cast<const nn::Dropout*>(submodule("classifier." + std::to_string(i))); d && d->p > 0)
        return nullptr;
  const auto params = parameters();
  if (!params.empty() && params.front().is_cuda()) return nullptr;  // the blocked path is the CPU's
  return std::make_shared<const FusedFeatures>(*this, bf16);
}

}  // namespace sn::models
