// FusedVGG (convs on the blocked layout, Winograd, bias and ReLU in the conv's
// epilogue, the classifier as GEMMs) against the model's own eval-mode
// forward, and VGG::feature_snapshot's rules (training mode, bfloat16).
#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "models/fused_vgg.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
using Algo = cpu::nchwc::ConvAlgo;

models::VGGConfig small_config(int width, double dropout = 0.5) {
  models::VGGConfig cfg;
  cfg.width = width;  // stages w 2w 4w 8w 8w: 8 leaves half a channel block, 16 fills it
  cfg.hidden = 48;
  cfg.num_classes = 5;
  cfg.dropout = dropout;
  return cfg;
}

// The plain path: the feature stages one by one (up to classifier.5), as the transfer model runs them.
Tensor plain_features(const models::VGG& m, const Tensor& x) {
  NoGradGuard g;
  Tensor h = x;
  for (const auto& s : m.feature_stages()) h = models::run_feature_stage(m, s, h);
  return h;
}

// max |a - b| / max |b|: the error against the scale of the whole output.
double scaled_error(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto av = a.to_vector(), bv = b.to_vector();
  double worst = 0, scale = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    if (std::isnan(av[i])) return INFINITY;
    worst = std::max(worst, std::abs(double(av[i]) - double(bv[i])));
    scale = std::max(scale, std::abs(double(bv[i])));
  }
  REQUIRE(scale > 0);  // an all-zero output would prove nothing
  return worst / scale;
}

// Tolerance: the plain convs sum each output as an im2col GEMM, the blocked
// ones in another order (Winograd: through its transforms, a small constant
// factor more rounding). float32 rounding of ~6e-8 per operation over sums of
// up to 9*C terms and 13 layers stays ~1e-6 of the output's scale; 1e-5
// leaves room and still catches any wrong weight, tap or pool (errors ~1e-1).
constexpr double kTol = 1e-5;

void check_against_plain(int width, int64_t N, int64_t H, int64_t W, Algo algo) {
  CAPTURE(width, N, H, W, algo == Algo::Auto ? "auto" : "direct");
  Rng rng(uint64_t(100 + width + H));
  models::VGG model(small_config(width), rng);
  model.eval();
  // Biases away from 0 (torchvision starts them at 0): the epilogue's bias must count.
  for (auto& [name, t] : model.named_parameters())
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      t.copy_(Tensor::uniform(t.shape(), rng, -0.1f, 0.1f));
  const Tensor x = Tensor::uniform({N, 3, H, W}, rng, -2, 2);
  const auto before = x.to_vector();
  const models::FusedVGG fused(model, models::FusedVGG::Precision::F32, algo);
  const Tensor got = fused.features(x);
  CHECK(x.to_vector() == before);  // the caller's input is read only
  const Tensor want = plain_features(model, x);
  REQUIRE(got.shape() == Shape{N, 48});
  CHECK(scaled_error(got, want) < kTol);
  // The whole network: the head after the snapshot's features equals forward().
  NoGradGuard g;
  CHECK(scaled_error(model.head_forward(got), model.forward(x)) < kTol);
}
}  // namespace

TEST_CASE("FusedVGG equals the eval-mode forward: 224 (7x7, no pooling), odd sizes (adaptive pooling)",
          "[vgg][fused]") {
  for (const Algo algo : {Algo::Auto, Algo::Direct}) {
    check_against_plain(8, 1, 224, 224, algo);
    check_against_plain(16, 3, 35, 35, algo);  // 35 -> 17 8 4 2 1: odd pooling, 1x1 spread to 7x7
    check_against_plain(8, 3, 64, 48, algo);   // 2x1 before the adaptive pool: bins overlap along W
    check_against_plain(16, 1, 100, 77, algo);
  }
  check_against_plain(16, 3, 224, 224, Algo::Auto);
}

TEST_CASE("FusedVGG at full width (VGG-16, 224x224) equals the eval-mode forward", "[vgg][fused]") {
  Rng rng(7);
  models::VGGConfig cfg;
  models::VGG model(cfg, rng);  // torchvision's initialisation: every weight drawn
  model.eval();
  const Tensor x = Tensor::uniform({1, 3, 224, 224}, rng, -2, 2);
  const auto snap = model.feature_snapshot(false, false);
  REQUIRE(snap);
  const Tensor got = snap->features(x);
  REQUIRE(got.shape() == Shape{1, 4096});
  CHECK(scaled_error(got, plain_features(model, x)) < kTol);
}

TEST_CASE("VGG::feature_snapshot: training mode only without dropout", "[vgg][fused]") {
  Rng rng(9);
  models::VGG drop(small_config(8, 0.5), rng);
  CHECK(drop.feature_snapshot(/*batch_stats=*/true, false) == nullptr);  // dropout would be skipped
  CHECK(drop.feature_snapshot(false, false) != nullptr);

  // Dropout 0: training mode is inference mode, and the snapshot equals model.train() forward.
  models::VGG none(small_config(8, 0.0), rng);
  none.train(true);
  const auto snap = none.feature_snapshot(true, false);
  REQUIRE(snap);
  const Tensor x = Tensor::uniform({2, 3, 40, 40}, rng, -2, 2);
  CHECK(scaled_error(snap->features(x), plain_features(none, x)) < kTol);
}

TEST_CASE("FusedVGG bfloat16 stays close to float32", "[vgg][fused][bf16]") {
  if (!cpu::nchwc::bf16_supported()) SN_SKIP("this CPU (or build) has no AVX512_BF16");
  Rng rng(11);
  models::VGG model(small_config(16), rng);
  model.eval();
  for (const auto& [H, W] : {std::pair<int64_t, int64_t>{224, 224}, {45, 38}}) {
    CAPTURE(H, W);
    const Tensor x = Tensor::uniform({2, 3, H, W}, rng, -2, 2);
    const Tensor f32 = model.feature_snapshot(false, false)->features(x);
    const Tensor f16 = model.feature_snapshot(false, true)->features(x);
    const double err = rel_l2_error(f16.to_vector(), f32.to_vector());
    // Twelve convs with bfloat16 inputs (~3e-3 rounding each, partly averaging out).
    CHECK(err > 1e-4);  // a float32 fallback would give ~1e-7
    CHECK(err < 5e-2);
  }
}
