// FusedMobileNetV2 (batch norm folded into the convs, bias/ReLU6/residual in the
// conv kernels, blocked depthwise kernel) against the model's own eval-mode
// forward, with batch-norm parameters and statistics away from their defaults.
#include "engine/autograd.h"
#include "engine/parallel.h"
#include "models/fused_mobilenet_v2.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
// gamma, beta, running mean and variance away from (1, 0, 0, 1), otherwise
// folding would be the identity and prove little.
void randomize_bn(models::MobileNetV2& m, Rng& rng) {
  const std::string suffix = ".running_mean";
  int count = 0;
  for (auto& [name, t] : m.state_dict()) {
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    auto* bn = dynamic_cast<nn::BatchNorm2d*>(m.submodule(name.substr(0, name.size() - suffix.size())));
    REQUIRE(bn != nullptr);
    auto fill = [&](Tensor& p, double lo, double hi) {
      p.copy_(Tensor::from_vector(to_float(random_doubles(size_t(p.numel()), rng, lo, hi)), p.shape()));
    };
    fill(bn->weight, 0.5, 1.5);
    fill(bn->bias, -0.3, 0.3);
    fill(bn->running_mean, -0.3, 0.3);
    fill(bn->running_var, 0.5, 2.0);
    ++count;
  }
  REQUIRE(count >= 52);  // 1 + 17 blocks of 2-3 + 1
}

struct Errors {
  double features, logits;
};

Errors fused_errors(double width_mult, int last_channel, int64_t N, int64_t H, int64_t W) {
  Rng rng(41);
  models::MobileNetV2Config cfg;
  cfg.width_mult = width_mult;
  cfg.last_channel = last_channel;
  cfg.num_classes = 7;
  models::MobileNetV2 model(cfg, rng);
  randomize_bn(model, rng);
  model.eval();
  const Tensor x = Tensor::uniform({N, 3, H, W}, rng, -2, 2);
  const auto x_before = x.to_vector();
  Tensor want_features, want_logits;
  {
    NoGradGuard g;
    want_features = x;
    for (const std::string& stage : model.feature_stages())
      want_features = models::run_feature_stage(model, stage, want_features);
    want_logits = model.forward(x);
  }
  const auto snapshot = model.feature_snapshot(/*batch_stats=*/false, /*bf16=*/false);
  REQUIRE(snapshot != nullptr);
  REQUIRE(dynamic_cast<const models::FusedMobileNetV2*>(snapshot.get()) != nullptr);
  const Tensor got_features = snapshot->features(x);
  const Tensor got_logits = model.head_forward(got_features);
  CHECK(x.to_vector() == x_before);  // the caller's input is never written
  REQUIRE(got_features.shape() == want_features.shape());
  REQUIRE(got_logits.shape() == want_logits.shape());
  return {rel_l2_error(got_features.to_vector(), want_features.to_vector()),
          rel_l2_error(got_logits.to_vector(), want_logits.to_vector())};
}
}  // namespace

// Both sides are float32: the plain forward sums each conv by GEMM in another
// order and applies batch norm after the sum, the fused one rounds w*g once and
// sums in the direct kernel's order. Each of the 53 conv layers contributes
// rounding differences of ~1e-7 relative; measured totals (features and
// logits, every case below) are 2e-7 to 5e-7. 1e-5 leaves margin, while a wrong fold, a missing
// clamp, a lost residual or a wrong stride gives 1e-2 or more.
TEST_CASE("FusedMobileNetV2 equals the eval-mode forward (reduced width, 224 and odd sizes)",
          "[models][fused][mobilenet]") {
  struct Case {
    double width;
    int last;
    int64_t N, H, W;
  };
  for (const Case& c : {Case{0.25, 40, 1, 224, 224}, Case{0.25, 40, 3, 224, 224}, Case{0.5, 96, 1, 33, 47},
                        Case{0.5, 96, 3, 33, 47}, Case{0.35, 24, 2, 17, 9}}) {
    CAPTURE(c.width, c.last, c.N, c.H, c.W);
    const Errors e = fused_errors(c.width, c.last, c.N, c.H, c.W);
    CHECK(e.features < 1e-5);
    CHECK(e.logits < 1e-5);
  }
}

TEST_CASE("FusedMobileNetV2 equals the eval-mode forward at full width", "[models][fused][mobilenet]") {
  const Errors e = fused_errors(1.0, 0, 1, 224, 224);
  CHECK(e.features < 1e-5);
  CHECK(e.logits < 1e-5);
}

TEST_CASE("MobileNetV2 has no frozen-inference path for batch statistics or bfloat16", "[models][fused][mobilenet]") {
  Rng rng(42);
  models::MobileNetV2Config cfg;
  cfg.width_mult = 0.25;
  cfg.last_channel = 16;
  const models::MobileNetV2 model(cfg, rng);
  CHECK(model.feature_snapshot(/*batch_stats=*/true, false) == nullptr);
  CHECK(model.feature_snapshot(false, /*bf16=*/true) == nullptr);
  CHECK(model.feature_snapshot(false, false) != nullptr);
}

// From kImagesPerThread images per thread the snapshot runs whole images per thread
// (parallel_chunks) instead of splitting every layer: each image's features must be exactly
// what it gets alone (batch 1 splits every layer across the threads), for any thread count.
TEST_CASE("FusedMobileNetV2 at a large batch (whole images per thread) equals it image by image, bit for bit",
          "[models][fused][mobilenet][threads]") {
  Rng rng(43);
  models::MobileNetV2Config cfg;
  cfg.width_mult = 0.35;
  cfg.last_channel = 40;
  models::MobileNetV2 model(cfg, rng);
  randomize_bn(model, rng);
  model.eval();
  const auto snapshot = model.feature_snapshot(false, false);
  REQUIRE(snapshot != nullptr);
  const int64_t N = 7;
  const Tensor x = Tensor::uniform({N, 3, 45, 38}, rng, -2, 2);
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    set_num_threads(threads);
    // 7 images: 2 and 3 threads take the whole-image path (chunks of 3, 3, 1 and 2, 2, 2, 1 images).
    CHECK(N >= models::FusedMobileNetV2::kImagesPerThread * threads);
    const Tensor all = snapshot->features(x);
    REQUIRE(all.shape() == Shape{N, 40});
    for (int64_t i = 0; i < N; ++i) {
      CAPTURE(i);
      CHECK(snapshot->features(x.slice(i, i + 1)).to_vector() == all.slice(i, i + 1).to_vector());
    }
  }
  set_num_threads(0);
}
