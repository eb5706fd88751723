// The blocked depthwise 3x3 kernel (cpu/conv2d_nchwc_depthwise.h) against the
// plain double-precision reference (ref::conv2d_forward with groups = C), on
// every MobileNetV2 depthwise shape (channels and map sizes at 224x224 input,
// strides 1 and 2) and on odd ones: channel counts that leave a partial last
// block (24, 40), odd and tiny maps (13x9, 1x1, 2x3, 5x4), batches 1-3, every
// activation, 1-3 threads.
#include <algorithm>
#include <cmath>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_nchwc_depthwise.h"
#include "engine/cpu/nchwc.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;
namespace nc = sn::cpu::nchwc;

namespace {
struct Case {
  int64_t N, C, H, W, stride;
};

// Runs one depthwise conv through the blocked kernel and the reference;
// returns the relative L2 error, and checks that the padding channels of the
// output are exactly zero and that every output was written (y starts as NaN).
// x in [-3, 3] and w, bias in [-1, 1]: outputs of standard deviation ~3, so
// with ReLU6 a few percent of them are clamped at 6 and about half at 0.
double depthwise_error(const Case& c, nc::Activation act, Rng& rng, std::vector<float>* out = nullptr) {
  const int64_t P = (c.H - 1) / c.stride + 1, Q = (c.W - 1) / c.stride + 1;
  Conv2dShape s{c.N, c.C, c.H, c.W, c.C, 3, 3, c.stride, 1, P, Q};
  s.groups = c.C;
  const auto x = random_doubles(size_t(c.N * c.C * c.H * c.W), rng, -3, 3);
  const auto w = random_doubles(size_t(c.C * 9), rng);
  const auto b = random_doubles(size_t(c.C), rng);
  std::vector<double> want(size_t(c.N * c.C * P * Q));
  ref::conv2d_forward<double>(s, x.data(), w.data(), b.data(), want.data());
  for (double& v : want) {
    if (act != nc::Activation::None) v = std::max(v, 0.0);
    if (act == nc::Activation::ReLU6) v = std::min(v, 6.0);
  }

  const auto xf = to_float(x), wf = to_float(w), bf = to_float(b);
  const int64_t Cb = nc::blocks(c.C);
  const Tensor xb = Tensor::empty({c.N * Cb * c.H * c.W * 16});
  nc::to_blocked(xf.data(), c.N, c.C, c.H * c.W, xb.data());
  const Tensor yb = Tensor::full({c.N * Cb * P * Q * 16}, NAN);
  const nc::PackedDepthwise pd = nc::pack_depthwise(wf.data(), bf.data(), c.C, c.stride);
  nc::depthwise3x3(pd, c.N, c.H, c.W, xb.data(), yb.data(), act);
  const float* y = yb.data();
  int64_t bad_padding = 0;
  for (int64_t i = 0; i < c.N * Cb * P * Q; ++i)
    for (int64_t l = c.C - (Cb - 1) * 16; l < 16 && (i / (P * Q)) % Cb == Cb - 1; ++l)
      bad_padding += y[i * 16 + l] != 0.f;
  CHECK(bad_padding == 0);
  std::vector<float> got(want.size());
  nc::from_blocked(y, c.N, c.C, P * Q, got.data());
  REQUIRE(std::all_of(got.begin(), got.end(), [](float v) { return std::isfinite(v); }));
  if (out) *out = yb.to_vector();
  return rel_l2_error(got, want);
}
}  // namespace

// Each output is a float32 sum of the bias and 9 products of O(1) values
// against a double reference: each of the ~10 roundings is at most 2^-24
// relative to the partial sum, so the error is a few 1e-8 relative (measured
// on these cases: 2.7e-8 to 6.7e-8); 1e-6 leaves margin, while a wrong tap, a lost row or a shifted column gives
// O(0.1) and a missing clamp O(1e-2) or more.
TEST_CASE("nchwc depthwise 3x3 equals the reference on every MobileNetV2 shape", "[nchwc][depthwise]") {
  Rng rng(81);
  // (C, H, stride) of torchvision's MobileNetV2 at 224x224: the depthwise conv of each block.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> shapes = {
      {32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1},
      {192, 28, 2}, {384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1}};
  for (const int64_t N : {1, 2})
    for (const auto& [C, H, stride] : shapes) {
      CAPTURE(N, C, H, stride);
      CHECK(depthwise_error({N, C, H, H, stride}, nc::Activation::ReLU6, rng) < 1e-6);
    }
}

TEST_CASE("nchwc depthwise 3x3: partial channel blocks, odd maps, every activation", "[nchwc][depthwise]") {
  Rng rng(82);
  const std::vector<Case> cases = {{1, 24, 13, 9, 1}, {2, 24, 13, 9, 2}, {1, 40, 9, 13, 1}, {3, 40, 9, 13, 2},
                                   {1, 16, 1, 1, 1},  {2, 8, 1, 1, 2},   {1, 5, 2, 3, 1},   {2, 17, 2, 3, 2},
                                   {1, 33, 5, 4, 1},  {1, 33, 5, 4, 2},  {2, 48, 6, 7, 2},  {1, 20, 3, 12, 1}};
  for (const Case& c : cases)
    for (const auto act : {nc::Activation::None, nc::Activation::ReLU, nc::Activation::ReLU6}) {
      CAPTURE(c.N, c.C, c.H, c.W, c.stride, int(act));
      CHECK(depthwise_error(c, act, rng) < 1e-6);
    }
}

TEST_CASE("nchwc depthwise 3x3: bit-identical results for 1, 2 and 3 threads", "[nchwc][depthwise]") {
  const int saved = num_threads();
  for (const Case& c : {Case{2, 40, 29, 23, 1}, Case{1, 144, 56, 56, 2}}) {
    std::vector<std::vector<float>> outs(3);
    for (int threads = 1; threads <= 3; ++threads) {
      set_num_threads(threads);
      Rng rng(83);  // the same inputs each time
      CHECK(depthwise_error(c, nc::Activation::ReLU6, rng, &outs[size_t(threads - 1)]) < 1e-6);
    }
    set_num_threads(saved);
    CAPTURE(c.C, c.H, c.stride);
    CHECK(outs[0] == outs[1]);
    CHECK(outs[0] == outs[2]);
  }
}
