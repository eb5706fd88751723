// FusedResNet (batch norm folded into the convs, bias/ReLU/residual in the
// GEMM epilogue) against the model's own eval-mode forward.
#include <memory>

#include "engine/autograd.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "models/fused_resnet.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
// Batch-norm parameters and statistics away from their defaults (1, 0, 0, 1),
// otherwise folding would be the identity and prove little.
void randomize_bn(models::ResNet& m, Rng& rng) {
  for (auto& [name, t] : m.state_dict()) {
    const bool bn = name.find("bn") != std::string::npos || name.find("downsample.1") != std::string::npos;
    if (!bn || name.find("num_batches") != std::string::npos) continue;
    const bool var = name.find("running_var") != std::string::npos;
    const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    std::vector<float> v(size_t(t.numel()));
    for (auto& e : v)
      e = float(var ? rng.uniform(0.5, 2.0) : (weight ? rng.uniform(0.5, 1.5) : rng.uniform(-0.3, 0.3)));
    t.copy_(Tensor::from_vector(v, t.shape()));
  }
}

void check_fused(const std::string& arch, models::BlockStride stride) {
  CAPTURE(arch);
  Rng rng(31);
  models::ResNetConfig cfg;
  cfg.arch = arch;
  cfg.width = 8;  // small channels keep the test fast; every code path is the same
  cfg.num_classes = 5;
  cfg.block_stride = stride;
  cfg.bn_eps = 1e-3;
  models::ResNet model(cfg, rng);
  randomize_bn(model, rng);
  model.eval();
  const Tensor x = Tensor::uniform({2, 3, 48, 40}, rng, -2, 2);
  Tensor want;
  {
    NoGradGuard g;
    want = model.forward(x);
  }
  const models::FusedResNet fused(model);
  const Tensor got = fused.forward(x);
  REQUIRE(got.shape() == want.shape());
  // Folding rounds w*g once instead of applying g after the sum: float
  // rounding differences of ~1e-6 per layer, far below 1e-4.
  CHECK(rel_l2_error(got.to_vector(), want.to_vector()) < 1e-4);
}
}  // namespace

TEST_CASE("FusedResNet equals the eval-mode forward (ResNet-18, ResNet-50 v1.5 and v1)", "[models][fused]") {
  check_fused("resnet18", models::BlockStride::V1_5);
  check_fused("resnet50", models::BlockStride::V1_5);
  check_fused("resnet50", models::BlockStride::V1);
}

TEST_CASE("FusedResNet runs a large batch in chunks: the same features as one pass", "[models][fused]") {
  Rng rng(34);
  models::ResNetConfig cfg;
  cfg.arch = "resnet50";
  cfg.width = 8;
  cfg.num_classes = 4;
  models::ResNet model(cfg, rng);
  randomize_bn(model, rng);
  model.eval();
  models::FusedResNet fused(model);
  // The largest activation of one 40x36 image: the stem's 8 channels (one block of 16
  // in the blocked layout) at 20x18, float32: 16 * 20 * 18 * 4 = 23,040 bytes.
  CHECK(fused.chunk_images(40, 36) == models::FusedResNet::kChunkBytes / 23040);
  fused.set_chunk_bytes(3 * 23040);
  CHECK(fused.chunk_images(40, 36) == 3);
  const Tensor x = Tensor::uniform({7, 3, 40, 36}, rng, -2, 2);  // chunks of 3: 3, 2, 2 images
  const Tensor chunked = fused.features(x);
  fused.set_chunk_bytes(1);
  CHECK(fused.chunk_images(40, 36) == 1);
  const Tensor single = fused.features(x);
  fused.set_chunk_bytes(int64_t(1) << 40);
  const Tensor whole = fused.features(x);
  REQUIRE(chunked.shape() == whole.shape());
  // Each image's features do not depend on the images beside it (the kernels
  // sum in the same order at any batch size): equal, not merely close.
  CHECK(chunked.to_vector() == whole.to_vector());
  CHECK(single.to_vector() == whole.to_vector());
  Tensor want;
  {
    NoGradGuard g;
    want = model.forward(x);
  }
  CHECK(rel_l2_error(fused.forward(x).to_vector(), want.to_vector()) < 1e-4);
}

TEST_CASE("FusedResNet does not change the caller's input", "[models][fused]") {
  Rng rng(32);
  models::ResNetConfig cfg;
  cfg.arch = "resnet18";
  cfg.width = 8;
  models::ResNet model(cfg, rng);
  model.eval();
  const Tensor x = Tensor::uniform({1, 3, 32, 32}, rng, -1, 1);
  const auto before = x.to_vector();
  models::FusedResNet(model).features(x);
  CHECK(x.to_vector() == before);
}

namespace {
// Batch statistics mode against model.train() forward: the same logits and the
// same running statistics afterwards (two steps, so the second reads statistics
// the first has moved). Widths 8 and 16 give partial and full channel blocks.
void check_batch_stats(const std::string& arch, int width) {
  CAPTURE(arch, width);
  Rng rng(33);
  models::ResNetConfig cfg;
  cfg.arch = arch;
  cfg.width = width;
  cfg.num_classes = 3;
  models::ResNet plain(cfg, rng);
  randomize_bn(plain, rng);
  models::ResNet twin(cfg, rng);  // the same weights and statistics, updated by the fused path
  {
    const auto from = plain.state_dict();
    auto to = twin.state_dict();
    REQUIRE(from.size() == to.size());
    for (size_t i = 0; i < from.size(); ++i) to[i].second.copy_(from[i].second);
  }
  plain.train(true);
  twin.train(true);
  const models::FusedResNet fused(twin, models::FusedResNet::BatchNorm::BatchStats);
  for (int step = 0; step < 2; ++step) {
    CAPTURE(step);
    const Tensor x = Tensor::uniform({3, 3, 40, 36}, rng, -2, 2);
    Tensor want;
    {
      NoGradGuard g;
      want = plain.forward(x);
    }
    const Tensor got = fused.forward(x);
    // The statistics are summed in another order (per image plane, then
    // merged in double): ~1e-6 per layer, 1e-4 leaves a wide margin.
    CHECK(rel_l2_error(got.to_vector(), want.to_vector()) < 1e-4);
    const auto ps = plain.state_dict(), ts = twin.state_dict();
    for (size_t i = 0; i < ps.size(); ++i) {
      const std::string& name = ps[i].first;
      if (name.find("running") == std::string::npos) continue;
      CAPTURE(name);
      // A batch mean can be small next to the spread of the values it averages,
      // so the whole vector is compared (relative L2), not element by element.
      CHECK(rel_l2_error(ts[i].second.to_vector(), ps[i].second.to_vector()) < 1e-4);
    }
  }
}
}  // namespace

TEST_CASE("FusedResNet batch statistics mode equals the training-mode forward and moves the running statistics alike",
          "[models][fused]") {
  check_batch_stats("resnet18", 8);
  check_batch_stats("resnet18", 16);
  check_batch_stats("resnet50", 16);
}

namespace {
// Batch statistics mode runs every conv over the batch in chunks (the
// statistics still span the whole batch): features and running statistics
// equal one pass bit for bit, for chunks of one image, of three, and ragged.
void check_batch_stats_chunks(const std::string& arch, models::FusedResNet::Precision precision) {
  using F = models::FusedResNet;
  CAPTURE(arch, precision == F::Precision::BF16);
  auto make = [&] {
    Rng rng(35);  // the same seed: identical models
    models::ResNetConfig cfg;
    cfg.arch = arch;
    cfg.width = 8;
    cfg.num_classes = 3;
    auto m = std::make_unique<models::ResNet>(cfg, rng);
    randomize_bn(*m, rng);
    m->train(true);
    return m;
  };
  const auto whole = make(), single = make(), threes = make();
  Rng rng(36);
  const Tensor x = Tensor::uniform({7, 3, 40, 36}, rng, -2, 2);
  // The largest activation of one image is 23,040 bytes (see the folded chunk test).
  auto run = [&](const models::ResNet& m, int64_t chunk_bytes, int64_t images) {
    F fused(m, F::BatchNorm::BatchStats, precision);
    fused.set_chunk_bytes(chunk_bytes);
    CHECK(fused.chunk_images(40, 36) == images);
    return fused.features(x).to_vector();
  };
  const auto want = run(*whole, int64_t(1) << 40, (int64_t(1) << 40) / 23040);  // one chunk of all 7
  CHECK(run(*single, 1, 1) == want);
  CHECK(run(*threes, 3 * 23040, 3) == want);  // chunks of 3, 2, 2
  const auto sw = whole->state_dict(), s1 = single->state_dict(), s3 = threes->state_dict();
  int compared = 0;
  for (size_t i = 0; i < sw.size(); ++i) {
    if (sw[i].first.find("running") == std::string::npos) continue;
    CAPTURE(sw[i].first);
    CHECK(s1[i].second.to_vector() == sw[i].second.to_vector());
    CHECK(s3[i].second.to_vector() == sw[i].second.to_vector());
    ++compared;
  }
  CHECK(compared == (arch == "resnet18" ? 2 * 20 : 2 * 53));  // every batch norm's mean and variance
}
}  // namespace

TEST_CASE("FusedResNet batch statistics mode runs each conv in chunks: the same features and statistics as one pass",
          "[models][fused]") {
  using F = models::FusedResNet;
  check_batch_stats_chunks("resnet18", F::Precision::F32);
  check_batch_stats_chunks("resnet50", F::Precision::F32);
  if (cpu::nchwc::bf16_supported())
    check_batch_stats_chunks("resnet50", F::Precision::BF16);
  else
    WARN("no AVX512_BF16 here: the bfloat16 variant was not run");
}
