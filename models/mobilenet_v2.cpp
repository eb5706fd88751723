#include "models/mobilenet_v2.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/check.h"
#include "engine/nn/init.h"
#include "engine/ops.h"
#include "models/fused_mobilenet_v2.h"

namespace sn::models {

nlohmann::json MobileNetV2Config::to_json() const {
  return {{"num_classes", num_classes},   {"width_mult", width_mult}, {"round_nearest", round_nearest},
          {"last_channel", last_channel}, {"dropout", dropout},       {"bn_eps", bn_eps}};
}

MobileNetV2Config MobileNetV2Config::from_json(const nlohmann::json& j) {
  MobileNetV2Config c;
  try {
    c.num_classes = j.value("num_classes", 1000);
    c.width_mult = j.value("width_mult", 1.0);
    c.round_nearest = j.value("round_nearest", 8);
    c.last_channel = j.value("last_channel", 0);
    c.dropout = j.value("dropout", 0.2);
    c.bn_eps = j.value("bn_eps", 1e-5);
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL("bad MobileNetV2 options ", j.dump(), ": ", e.what());
  }
  SN_USER_CHECK(c.num_classes > 0 && c.width_mult > 0 && c.round_nearest > 0 && c.last_channel >= 0 && c.dropout >= 0 &&
                    c.dropout < 1 && c.bn_eps > 0,
                "bad MobileNetV2 options ", j.dump());
  return c;
}

int make_divisible(double v, int divisor) {
  int r = std::max(divisor, static_cast<int>(v + divisor / 2.0) / divisor * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

static std::shared_ptr<nn::Conv2d> make_conv(int in, int out, int k, int stride, int groups, Rng& rng) {
  auto c = std::make_shared<nn::Conv2d>(in, out, k, stride, (k - 1) / 2, /*bias=*/false, rng, groups);
  // PyTorch's fan_out of a (K, C/groups, R, S) weight is K*R*S (dim 0 times the
  // receptive field, groups not divided out), and kaiming_normal_'s default
  // nonlinearity leaky_relu(0) gives gain sqrt(2): N(0, 2 / (K*R*S)).
  if (!nn::init_skipped())
    c->weight.copy_(Tensor::randn(c->weight.shape(), rng, std::sqrt(2.f / static_cast<float>(out * k * k))));
  return c;
}

ConvBNReLU6::ConvBNReLU6(int in, int out, int kernel, int stride, int groups, double eps, Rng& rng) {
  append(make_conv(in, out, kernel, stride, groups, rng));
  append(std::make_shared<nn::BatchNorm2d>(out, static_cast<float>(eps)));
  append(std::make_shared<nn::ReLU6>());
}

InvertedResidual::InvertedResidual(int in, int out, int stride, int expand_ratio, double eps, Rng& rng)
    : use_res_connect(stride == 1 && in == out) {
  const int hidden = static_cast<int>(std::lround(in * static_cast<double>(expand_ratio)));
  conv = register_module("conv", std::make_shared<nn::Sequential>());
  if (expand_ratio != 1) conv->append(std::make_shared<ConvBNReLU6>(in, hidden, 1, 1, 1, eps, rng));
  conv->append(std::make_shared<ConvBNReLU6>(hidden, hidden, 3, stride, hidden, eps, rng));  // depthwise
  conv->append(make_conv(hidden, out, 1, 1, 1, rng));
  conv->append(std::make_shared<nn::BatchNorm2d>(out, static_cast<float>(eps)));
}

Tensor InvertedResidual::forward(const Tensor& x) {
  const Tensor y = conv->forward(x);
  return use_res_connect ? add(x, y) : y;
}

namespace {
struct Setting {
  int t, c, n, s;  // expansion, channels, repeats, first stride
};
constexpr Setting kSettings[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                 {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
}  // namespace

std::vector<int> block_channels(const MobileNetV2Config& cfg) {
  std::vector<int> out{make_divisible(32 * cfg.width_mult, cfg.round_nearest)};
  for (const Setting& s : kSettings)
    for (int i = 0; i < s.n; ++i) out.push_back(make_divisible(s.c * cfg.width_mult, cfg.round_nearest));
  return out;
}

MobileNetV2::MobileNetV2(const MobileNetV2Config& cfg, Rng& rng) : cfg_(cfg) {
  int in = make_divisible(32 * cfg.width_mult, cfg.round_nearest);
  last_channel_ =
      cfg.last_channel > 0 ? cfg.last_channel : make_divisible(1280 * std::max(1.0, cfg.width_mult), cfg.round_nearest);
  features = register_module("features", std::make_shared<nn::Sequential>());
  features->append(std::make_shared<ConvBNReLU6>(3, in, 3, 2, 1, cfg.bn_eps, rng));
  for (const Setting& s : kSettings) {
    const int out = make_divisible(s.c * cfg.width_mult, cfg.round_nearest);
    for (int i = 0; i < s.n; ++i) {
      features->append(std::make_shared<InvertedResidual>(in, out, i == 0 ? s.s : 1, s.t, cfg.bn_eps, rng));
      in = out;
    }
  }
  features->append(std::make_shared<ConvBNReLU6>(in, last_channel_, 1, 1, 1, cfg.bn_eps, rng));
  classifier = register_module("classifier", std::make_shared<nn::Sequential>());
  classifier->append(std::make_shared<nn::Dropout>(static_cast<float>(cfg.dropout), rng.split().randint(0, INT64_MAX)));
  auto fc = std::make_shared<nn::Linear>(last_channel_, cfg.num_classes, true, rng);
  if (!nn::init_skipped()) fc->weight.copy_(Tensor::randn(fc->weight.shape(), rng, 0.01f));
  fc->bias.copy_(Tensor::zeros({cfg.num_classes}));
  classifier->append(fc);

  for (size_t i = 0; i < features->size(); ++i) stages_.push_back("features." + std::to_string(i));
  stages_.insert(stages_.end(), {"global_avg_pool", "classifier.0"});
}

Tensor MobileNetV2::forward(const Tensor& x) {
  SN_CHECK(x.ndim() == 4 && x.size(1) == 3, "MobileNetV2 input must be (N, 3, H, W), got ", to_string(x.shape()));
  return classifier->forward(flatten(adaptive_avg_pool2d_1x1(features->forward(x)), 1));
}

std::shared_ptr<const FeatureSnapshot> MobileNetV2::feature_snapshot(bool batch_stats, bool bf16) const {
  const auto* stem = dynamic_cast<const nn::Conv2d*>(submodule("features.0.0"));
  if (batch_stats || bf16 || !stem || stem->weight.is_cuda()) return nullptr;
  return std::make_shared<const FusedMobileNetV2>(*this);
}

}  // namespace sn::models
