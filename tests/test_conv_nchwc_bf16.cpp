// The bfloat16 blocked convolution (cpu/conv2d_nchwc_bf16.cpp) on every
// ResNet-18/50 conv shape, two ways:
//  1. Against a double reference computed from the same bfloat16-rounded x
//     and w: then the only differences are the float32 sums (~1e-6) and, for
//     a bfloat16 output, its final rounding (at most u = 2^-8 relative per
//     value: bfloat16 keeps 8 significant bits).
//     This pins down the kernel's indexing and pairing exactly.
//  2. Against the float32 reference on the unrounded inputs, with the bound
//     derived from bfloat16's precision: each input is off by a relative
//     error uniform in [-u, u] (standard deviation u/sqrt(3)), so a product by
//     sqrt(2)u/sqrt(3) ~ 3.2e-3 rms; with independent signs the errors of a sum
//     of K products add like a random walk, as the sum itself does, so the
//     relative L2 error stays ~3.2e-3 whatever K (C*R*S = 64..4608 here);
//     rounding the output adds u/sqrt(3) ~ 2.3e-3 in quadrature: ~3.9e-3 in
//     all. We allow 1e-2; a lost tap or a swapped channel pair gives 0.1 or more.
// And: FusedResNet in bfloat16 really runs bfloat16 (it differs from float32),
// and stays close to it.
#include <memory>
#include <tuple>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/cpu/nchwc.h"
#include "models/fused_resnet.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;
namespace nc = sn::cpu::nchwc;

#define SN_REQUIRE_BF16() \
  if (!nc::bf16_supported()) SN_SKIP("this CPU (or build) has no AVX512_BF16")

namespace {
std::vector<double> rounded(const std::vector<double>& v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = nc::bf16_to_float(nc::float_to_bf16(float(v[i])));
  return r;
}

struct Errors {
  double vs_rounded_f32out, vs_rounded_bf16out_max, vs_fp32_ref;  // the last two: see the checks
};

Errors bf16_errors(int64_t N, int64_t C, int64_t H, int64_t K, int64_t R, int64_t stride, bool relu, Rng& rng) {
  const int64_t pad = R / 2, P = nc::out_size(H, R, stride, pad);
  const Conv2dShape s{N, C, H, H, K, R, R, stride, pad, P, P};
  const auto x = random_doubles(size_t(N * C * H * H), rng), w = random_doubles(size_t(K * C * R * R), rng, -0.5, 0.5);
  const auto b = random_doubles(size_t(K), rng);
  const auto xr = rounded(x), wr = rounded(w);
  const auto xf = to_float(x), wf = to_float(w), bf = to_float(b);
  // want_r: the double reference on the rounded inputs (the exact check). want: the float32 result
  // on the unrounded ones, from the fast im2col path (checked against the double reference in
  // test_conv2d.cpp): its ~1e-6 is nothing next to the 1e-2 bound, and a second double loop nest
  // per shape would double this file's run time.
  std::vector<double> want_r(size_t(N * K * P * P));
  ref::conv2d_forward<double>(s, xr.data(), wr.data(), b.data(), want_r.data());
  std::vector<float> want_f(want_r.size());
  cpu::conv2d_forward(s, xf.data(), wf.data(), bf.data(), want_f.data());
  std::vector<double> want(want_f.begin(), want_f.end());
  for (auto* v : {&want, &want_r})
    for (auto& e : *v) e = relu ? std::max(e, 0.0) : e;

  const int64_t Cb = nc::blocks(C), Kb = nc::blocks(K);
  std::vector<float> xb(size_t(N * Cb * H * H * 16));
  nc::to_blocked(xf.data(), N, C, H * H, xb.data());
  std::vector<uint16_t> x16(xb.size());
  nc::to_bf16(xb.data(), int64_t(xb.size()), x16.data());
  const nc::PackedConv pc = nc::pack_conv(wf.data(), bf.data(), K, C, R, R, stride, pad, false, true);
  REQUIRE(pc.bf16);
  REQUIRE(pc.weights_bf16 != nullptr);

  const int64_t out_n = N * Kb * P * P * 16;
  const Tensor y32 = Tensor::full({out_n}, NAN), y16 = Tensor::full({out_n / 2}, NAN);
  nc::conv2d(pc, N, H, H, x16.data(), y32.data(), relu ? nc::Activation::ReLU : nc::Activation::None, false, false);
  nc::conv2d(pc, N, H, H, x16.data(), y16.data(), relu ? nc::Activation::ReLU : nc::Activation::None, false, true);
  std::vector<float> got32(want.size()), got16(want.size()), tmp(static_cast<size_t>(out_n));
  nc::from_blocked(y32.data(), N, K, P * P, got32.data());
  nc::from_bf16(reinterpret_cast<const uint16_t*>(y16.data()), out_n, tmp.data());
  nc::from_blocked(tmp.data(), N, K, P * P, got16.data());
  Errors e{};
  e.vs_rounded_f32out = rel_l2_error(got32, want_r);
  // Rounding to bfloat16: within 2^-8 of each value, plus what the float32
  // sums carry (absolute, ~1e-6 of the output's scale): the excess over the
  // rounding bound, relative to the scale, must be float32-small.
  double scale = 1e-30;
  for (double v : want_r) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got16.size(); ++i)
    e.vs_rounded_bf16out_max =
        std::max(e.vs_rounded_bf16out_max, (std::abs(got16[i] - want_r[i]) - std::abs(want_r[i]) / 256) / scale);
  e.vs_fp32_ref = rel_l2_error(got16, want);
  return e;
}

const std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>> kShapes = {
    {64, 56, 64, 1, 1},    {64, 56, 64, 3, 1},    {64, 56, 128, 1, 2},   {64, 56, 128, 3, 2},   {64, 56, 256, 1, 1},
    {128, 56, 128, 3, 2},  {256, 56, 64, 1, 1},   {256, 56, 128, 1, 1},  {256, 56, 512, 1, 2},  {128, 28, 128, 3, 1},
    {128, 28, 256, 1, 2},  {128, 28, 256, 3, 2},  {128, 28, 512, 1, 1},  {256, 28, 256, 3, 2},  {512, 28, 128, 1, 1},
    {512, 28, 256, 1, 1},  {512, 28, 1024, 1, 2}, {256, 14, 256, 3, 1},  {256, 14, 512, 1, 2},  {256, 14, 512, 3, 2},
    {256, 14, 1024, 1, 1}, {512, 14, 512, 3, 2},  {1024, 14, 256, 1, 1}, {1024, 14, 512, 1, 1}, {1024, 14, 2048, 1, 2},
    {512, 7, 512, 3, 1},   {512, 7, 2048, 1, 1},  {2048, 7, 512, 1, 1}};
}  // namespace

TEST_CASE("nchwc bf16 conv2d on every ResNet conv shape: exact on rounded inputs, within the bf16 bound of fp32",
          "[nchwc][bf16]") {
  SN_REQUIRE_BF16();
  Rng rng(81);
  for (const auto& [C, H, K, R, stride] : kShapes) {
    CAPTURE(C, H, K, R, stride);
    const Errors e = bf16_errors(1, C, H, K, R, stride, true, rng);
    INFO("relative L2 error against float32: " << e.vs_fp32_ref);
    CHECK(e.vs_rounded_f32out < 1e-5);
    CHECK(e.vs_rounded_bf16out_max < 1e-5);
    CHECK(e.vs_fp32_ref < 1e-2);
  }
}

TEST_CASE("nchwc bf16 conv2d: partial channel blocks, partial tiles, batches", "[nchwc][bf16]") {
  SN_REQUIRE_BF16();
  Rng rng(82);
  for (const auto& [N, C, H, K, R, stride] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>{1, 5, 9, 7, 3, 1},
        {3, 20, 7, 36, 3, 1},
        {2, 24, 13, 48, 3, 2},
        {4, 64, 7, 65, 3, 1},
        {2, 48, 14, 112, 1, 2}}) {
    CAPTURE(N, C, H, K, R, stride);
    const Errors e = bf16_errors(N, C, H, K, R, stride, false, rng);
    CHECK(e.vs_rounded_f32out < 1e-5);
    CHECK(e.vs_rounded_bf16out_max < 1e-5);
  }
}

TEST_CASE("FusedResNet bf16 runs in bfloat16 (not a silent float32 fallback) and stays close to float32",
          "[models][fused][bf16]") {
  SN_REQUIRE_BF16();
  Rng rng(83);
  for (const std::string arch : {"resnet18", "resnet50"}) {
    CAPTURE(arch);
    models::ResNetConfig cfg;
    cfg.arch = arch;
    cfg.width = 16;
    cfg.num_classes = 10;
    models::ResNet model(cfg, rng);
    model.eval();
    const Tensor x = Tensor::uniform({2, 3, 48, 48}, rng, -2, 2);
    const Tensor f32 = models::FusedResNet(model).features(x);
    const Tensor f16 =
        models::FusedResNet(model, models::FusedResNet::BatchNorm::Folded, models::FusedResNet::Precision::BF16)
            .features(x);
    const double err = rel_l2_error(f16.to_vector(), f32.to_vector());
    // Through ~20-50 layers of bf16 rounding (~3e-3 each, partly averaging out).
    CHECK(err > 1e-4);  // a float32 fallback would give ~1e-7
    CHECK(err < 5e-2);
  }
}

TEST_CASE("FusedResNet bf16 batch statistics mode stays close to float32 and moves the statistics alike",
          "[models][fused][bf16]") {
  SN_REQUIRE_BF16();
  auto make = [] {
    Rng rng(84);  // the same seed: two identical models
    models::ResNetConfig cfg;
    cfg.arch = "resnet18";
    cfg.width = 16;
    auto m = std::make_unique<models::ResNet>(cfg, rng);
    m->train(true);
    return m;
  };
  const auto a = make(), b = make();
  Rng rng(85);
  const Tensor x = Tensor::uniform({4, 3, 40, 40}, rng, -2, 2);
  using F = models::FusedResNet;
  const Tensor f32 = F(*a, F::BatchNorm::BatchStats).features(x);
  const Tensor f16 = F(*b, F::BatchNorm::BatchStats, F::Precision::BF16).features(x);
  const double err = rel_l2_error(f16.to_vector(), f32.to_vector());
  CHECK(err > 1e-4);
  CHECK(err < 5e-2);
  const auto sa = a->state_dict(), sb = b->state_dict();
  for (size_t i = 0; i < sa.size(); ++i)
    if (sa[i].first.find("running_mean") != std::string::npos) {
      CAPTURE(sa[i].first);
      CHECK(rel_l2_error(sb[i].second.to_vector(), sa[i].second.to_vector()) < 5e-2);
    }
}
