// The blocked-layout inference kernels (cpu/nchwc.h, cpu/conv2d_nchwc.h)
// against the plain double-precision reference (ref::conv2d_forward), on every
// ResNet-18/50 convolution shape and on odd ones: channel counts that are not
// multiples of 16 (partial blocks), output-channel groups of 1-4 blocks,
// pixel counts that leave partial tiles, padding on every side, strides 1-3,
// a residual accumulated in place, and 1 and 2 threads.
#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/cpu/conv2d_nchwc_tile.h"
#include "engine/cpu/conv2d_winograd.h"
#include "engine/cpu/nchwc.h"
#include "engine/cpu/pooling.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;
namespace nc = sn::cpu::nchwc;

namespace {
struct Case {
  int64_t N, C, H, W, K, R, S, stride, pad;
};

// Runs one conv through the blocked path, once per algorithm, and the reference (once: the double
// loops are most of this file's run time); returns each algorithm's relative L2 error.
// plain: the input is a plain (N,C,H,W) image (the stem).
// Auto and WinogradF2 take Winograd for 3x3 stride-1 pad-1 shapes (checked), Direct never.
std::vector<double> conv_errors(const Case& c, bool plain, nc::Activation act, bool residual, Rng& rng,
                                std::initializer_list<nc::ConvAlgo> algos) {
  const Conv2dShape s{c.N,
                      c.C,
                      c.H,
                      c.W,
                      c.K,
                      c.R,
                      c.S,
                      c.stride,
                      c.pad,
                      nc::out_size(c.H, c.R, c.stride, c.pad),
                      nc::out_size(c.W, c.S, c.stride, c.pad)};
  const auto x = random_doubles(size_t(s.N * s.C * s.H * s.W), rng);
  const auto w = random_doubles(size_t(s.K * s.C * s.R * s.S), rng, -0.5, 0.5);
  const auto b = random_doubles(size_t(s.K), rng);
  const auto res = random_doubles(size_t(s.N * s.K * s.P * s.Q), rng);
  std::vector<double> want(res.size());
  ref::conv2d_forward<double>(s, x.data(), w.data(), b.data(), want.data());
  for (size_t i = 0; i < want.size(); ++i) {
    if (residual) want[i] += res[i];
    if (act != nc::Activation::None) want[i] = std::max(want[i], 0.0);
    if (act == nc::Activation::ReLU6) want[i] = std::min(want[i], 6.0);
  }

  const auto xf = to_float(x), wf = to_float(w), bf = to_float(b), rf = to_float(res);
  const int64_t Cb = nc::blocks(s.C), Kb = nc::blocks(s.K);
  std::vector<float> xin;
  if (plain) {
    xin.assign(size_t(s.N * s.C * (s.H + 2 * s.pad) * (s.W + 2 * s.pad)), NAN);
    nc::pad_plain(xf.data(), s.N, s.C, s.H, s.W, s.pad, xin.data());
  } else {
    xin.assign(size_t(s.N * Cb * s.H * s.W * 16), NAN);
    nc::to_blocked(xf.data(), s.N, s.C, s.H * s.W, xin.data());
  }
  std::vector<double> errors;
  for (const nc::ConvAlgo algo : algos) {
    // 64-byte aligned output, poisoned so that an unwritten element fails.
    const Tensor yt = Tensor::full({s.N * Kb * s.P * s.Q * 16}, NAN);
    if (residual) nc::to_blocked(rf.data(), s.N, s.K, s.P * s.Q, yt.data());
    const nc::PackedConv pc =
        nc::pack_conv(wf.data(), bf.data(), s.K, s.C, s.R, s.S, s.stride, s.pad, plain, false, algo);
    CHECK(pc.winograd ==
          (algo != nc::ConvAlgo::Direct && !plain && s.R == 3 && s.S == 3 && s.stride == 1 && s.pad == 1));
    nc::conv2d(pc, s.N, s.H, s.W, xin.data(), yt.data(), act, residual);
    // Padding channels of the output must stay exactly zero (they feed the next layer).
    if (!residual) {
      const float* yb = yt.data();
      int64_t nonzero = 0;
      for (int64_t i = 0; i < s.N * Kb * s.P * s.Q; ++i)
        for (int64_t l = s.K - (Kb - 1) * 16; l < 16 && (i / (s.P * s.Q)) % Kb == Kb - 1; ++l)
          nonzero += yb[i * 16 + l] != 0.f;
      CHECK(nonzero == 0);
    }
    std::vector<float> got(want.size());
    nc::from_blocked(yt.data(), s.N, s.K, s.P * s.Q, got.data());
    size_t not_finite = 0;
    for (float v : got) not_finite += !std::isfinite(v);
    REQUIRE(not_finite == 0);
    errors.push_back(rel_l2_error(got, want));
  }
  return errors;
}

double conv_error(const Case& c, bool plain, nc::Activation act, bool residual, Rng& rng,
                  nc::ConvAlgo algo = nc::ConvAlgo::Auto) {
  return conv_errors(c, plain, act, residual, rng, {algo})[0];
}

// ResNet-18/50 convolution shapes at batch 1 (C, H, K, R, stride).
const std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>> kResNetShapes = {
    {64, 56, 64, 1, 1},    {64, 56, 64, 3, 1},    {64, 56, 128, 1, 2},   {64, 56, 128, 3, 2},   {64, 56, 256, 1, 1},
    {128, 56, 128, 3, 2},  {256, 56, 64, 1, 1},   {256, 56, 128, 1, 1},  {256, 56, 512, 1, 2},  {128, 28, 128, 3, 1},
    {128, 28, 256, 1, 2},  {128, 28, 256, 3, 2},  {128, 28, 512, 1, 1},  {256, 28, 256, 3, 2},  {512, 28, 128, 1, 1},
    {512, 28, 256, 1, 1},  {512, 28, 1024, 1, 2}, {256, 14, 256, 3, 1},  {256, 14, 512, 1, 2},  {256, 14, 512, 3, 2},
    {256, 14, 1024, 1, 1}, {512, 14, 512, 3, 2},  {1024, 14, 256, 1, 1}, {1024, 14, 512, 1, 1}, {1024, 14, 2048, 1, 2},
    {512, 7, 512, 3, 1},   {512, 7, 2048, 1, 1},  {2048, 7, 512, 1, 1}};
}  // namespace

// Float sums of up to C*R*S = 4608 products of O(1) values against a double
// reference: the rounding error grows like sqrt(C*R*S) * 2^-24 relative, about
// 1e-6; 1e-5 leaves margin while a wrong index or a lost tap gives O(1e-2) or more.
// Winograd F(2x2,3x3) adds the rounding of its transforms (sums of 3-4 terms,
// coefficients 1 and 1/2, weights transformed in double): the same order, the
// same bound (measured on these shapes: 0.6x the direct kernel's error, 2.6e-7 to 6.7e-7).
// F(4x4,3x3) (Auto on maps of 14x14 and more) sums 6 terms with coefficients up
// to 8 in each transform: 1.7e-6, 2.4e-6 and 2.9e-6 on ResNet's 56x56, 28x28 and
// 14x14 shapes (direct kernel 4.3e-7, 6.0e-7, 8.3e-7), still inside the bound,
// which a wrong coefficient (O(1) error) fails by far.
const nc::ConvAlgo kAlgos[] = {nc::ConvAlgo::Auto, nc::ConvAlgo::Direct, nc::ConvAlgo::WinogradF2};
constexpr nc::Activation kNone = nc::Activation::None, kReLU = nc::Activation::ReLU, kReLU6 = nc::Activation::ReLU6;

TEST_CASE("nchwc conv2d equals the reference on every ResNet conv shape", "[nchwc][conv]") {
  Rng rng(71);
  for (const auto& [C, H, K, R, stride] : kResNetShapes) {
    const Case c{1, C, H, H, K, R, R, stride, R / 2};
    CAPTURE(C, H, K, R, stride);
    const std::vector<double> e =
        conv_errors(c, false, kReLU, false, rng, {nc::ConvAlgo::Auto, nc::ConvAlgo::Direct, nc::ConvAlgo::WinogradF2});
    CHECK(e[0] < 1e-5);  // Auto: Winograd where it applies (F(4x4) on 56x56 and 28x28)
    CHECK(e[1] < 1e-5);  // Direct
    CHECK(e[2] < 1e-5);  // F(2x2) only
  }
}

// Which tile Auto runs (winograd::tile_for): F(4x4) on maps of 14x14 and more,
// F(2x2) on maps of 8x8 to 13x13, else direct; never depending on the batch.
TEST_CASE("nchwc conv2d: Winograd's tile follows the map size", "[nchwc][winograd]") {
  const auto w = std::vector<float>(size_t(64 * 64 * 9), 0.01f);
  const nc::PackedConv a = nc::pack_conv(w.data(), nullptr, 64, 64, 3, 3, 1, 1, false);
  const nc::PackedConv f2 =
      nc::pack_conv(w.data(), nullptr, 64, 64, 3, 3, 1, 1, false, false, nc::ConvAlgo::WinogradF2);
  const nc::PackedConv d = nc::pack_conv(w.data(), nullptr, 64, 64, 3, 3, 1, 1, false, false, nc::ConvAlgo::Direct);
  namespace wg = nc::winograd;
  CHECK(wg::tile_for(a, 56, 56) == 4);
  CHECK(wg::tile_for(a, 14, 15) == 4);
  CHECK(wg::tile_for(a, 13, 14) == 2);
  CHECK(wg::tile_for(a, 8, 8) == 2);
  CHECK(wg::tile_for(a, 7, 7) == 0);
  CHECK(wg::tile_for(a, 8, 7) == 0);
  CHECK(wg::tile_for(f2, 56, 56) == 2);
  CHECK(wg::tile_for(f2, 7, 7) == 0);
  CHECK(wg::tile_for(d, 56, 56) == 0);
}

// Auto runs Winograd F(2x2) on maps of 8x8 to 13x13, F(4x4) from 14x14 (odd
// sizes: partial tiles of 1-3 rows and columns), the direct kernel on smaller
// maps (1-7 here); WinogradF2 F(2x2) from 8x8.
TEST_CASE("nchwc conv2d: Winograd at batch 2, maps of odd sizes, with residual", "[nchwc][conv][winograd]") {
  Rng rng(76);
  for (const int64_t H : {1, 2, 3, 7, 8, 9, 14, 15, 27, 28, 29, 30}) {
    CAPTURE(H);
    CHECK(conv_error({2, 64, H, H + 1, 64, 3, 3, 1, 1}, false, kReLU, true, rng) < 1e-5);
    CHECK(conv_error({3, 40, H, H + 3, 200, 3, 3, 1, 1}, false, kNone, false, rng) < 1e-5);
  }
  for (const int64_t H : {14, 17, 29}) {  // each side of the F(2x2)/F(4x4) switch at 14, against direct
    CAPTURE(H);
    const std::vector<double> e = conv_errors({2, 48, H, H + 2, 80, 3, 3, 1, 1}, false, kReLU, true, rng,
                                              {nc::ConvAlgo::Auto, nc::ConvAlgo::Direct, nc::ConvAlgo::WinogradF2});
    for (double v : e) CHECK(v < 1e-5);
  }
}

TEST_CASE("nchwc conv2d: the stem (plain 3-channel input, 7x7 stride 2)", "[nchwc][conv]") {
  Rng rng(72);
  CHECK(conv_error({1, 3, 64, 64, 64, 7, 7, 2, 3}, true, kReLU, false, rng) < 1e-5);
  CHECK(conv_error({2, 3, 37, 29, 20, 7, 7, 2, 3}, true, kNone, false, rng) < 1e-5);
  CHECK(conv_error({1, 5, 9, 11, 33, 3, 5, 1, 2}, true, kReLU, false, rng) < 1e-5);
}

// MobileNetV2's epilogue: min(max(0, v), 6). With 144 or 576 input channels
// the sums have a standard deviation of 4-6, so a large share of the outputs
// is clamped at 6 and a wrong or missing upper clamp fails by far more than 1e-5.
TEST_CASE("nchwc conv2d: the ReLU6 epilogue (1x1, 3x3 direct and Winograd, the stem)", "[nchwc][conv][relu6]") {
  Rng rng(77);
  for (const auto algo : kAlgos) {
    CAPTURE(int(algo));
    CHECK(conv_error({1, 144, 14, 14, 48, 3, 3, 1, 1}, false, kReLU6, false, rng, algo) < 1e-5);
    CHECK(conv_error({2, 576, 7, 7, 160, 1, 1, 1, 0}, false, kReLU6, false, rng, algo) < 1e-5);
    CHECK(conv_error({1, 96, 13, 9, 40, 3, 3, 2, 1}, false, kReLU6, false, rng, algo) < 1e-5);
    CHECK(conv_error({3, 40, 9, 13, 24, 1, 1, 1, 0}, false, kReLU6, true, rng, algo) < 1e-5);
  }
  // MobileNetV2's stem: 3x3 stride 2 pad 1 on the plain padded image.
  CHECK(conv_error({2, 3, 33, 47, 32, 3, 3, 2, 1}, true, kReLU6, false, rng) < 1e-5);
  CHECK(conv_error({1, 3, 224, 224, 32, 3, 3, 2, 1}, true, kReLU6, false, rng) < 1e-5);
}

TEST_CASE("nchwc conv2d: odd shapes, partial blocks and tiles, residual, threads", "[nchwc][conv]") {
  const int saved = num_threads();
  Rng rng(73);
  const std::vector<Case> cases = {
      {1, 5, 9, 11, 7, 3, 3, 1, 1},    {3, 20, 7, 7, 36, 3, 3, 1, 1}, {2, 16, 8, 8, 16, 1, 1, 1, 0},
      {2, 24, 13, 10, 48, 3, 3, 2, 1}, {1, 32, 5, 5, 80, 3, 3, 1, 0}, {1, 17, 6, 9, 64, 5, 3, 3, 2},
      {4, 64, 7, 7, 65, 3, 3, 1, 1},   {1, 16, 1, 1, 16, 1, 1, 1, 0}, {2, 48, 14, 14, 112, 1, 1, 2, 0}};
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Case& c : cases)
      for (int variant = 0; variant < 3; ++variant)
        for (const auto algo : kAlgos) {
          CAPTURE(threads, c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad, variant, int(algo));
          CHECK(conv_error(c, false, variant != 1 ? kReLU : kNone, variant == 2, rng, algo) < 1e-5);
        }
  }
  set_num_threads(saved);
}

TEST_CASE("nchwc max pool and global average pool equal the plain kernels", "[nchwc][pool]") {
  Rng rng(74);
  for (const auto& [N, C, H, W] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{2, 20, 9, 7}, {1, 64, 112, 112}}) {
    CAPTURE(N, C, H, W);
    auto x = to_float(random_doubles(size_t(N * C * H * W), rng));
    x[7] = NAN;  // a NaN wins its windows, as in the plain kernel and PyTorch
    const int64_t Cb = nc::blocks(C);
    std::vector<float> xb(size_t(N * Cb * H * W * 16));
    nc::to_blocked(x.data(), N, C, H * W, xb.data());

    const Pool2dShape ps{N, C, H, W, 3, 2, 1, (H + 2 - 3) / 2 + 1, (W + 2 - 3) / 2 + 1};
    std::vector<float> want(size_t(N * C * ps.P * ps.Q)), yb(size_t(N * Cb * ps.P * ps.Q * 16)), got(want.size());
    ref::max_pool2d_forward<float>(ps, x.data(), want.data());
    nc::max_pool2d(xb.data(), N, Cb, H, W, 3, 2, 1, yb.data());
    nc::from_blocked(yb.data(), N, C, ps.P * ps.Q, got.data());
    // A maximum is exact; NaN compares equal to NaN here.
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i)
      differ += !(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i])));
    CHECK(differ == 0);
    CHECK(std::count_if(got.begin(), got.end(), [](float v) { return std::isnan(v); }) > 0);

    x[7] = 0.5f;
    nc::to_blocked(x.data(), N, C, H * W, xb.data());
    std::vector<float> avg_want(size_t(N * C)), avg_got(size_t(N * C), NAN);
    ref::avg_pool_1x1_forward<float>(N * C, H * W, x.data(), avg_want.data());
    nc::global_avg_pool(xb.data(), N, C, H * W, avg_got.data());
    CHECK(max_rel_error(avg_got, avg_want) < 1e-6);
  }
}

TEST_CASE("nchwc conv2d: bit-identical results for 1, 2 and 3 threads", "[nchwc][conv]") {
  const int saved = num_threads();
  Rng rng(75);
  const int64_t N = 3, C = 40, K = 72;
  for (const int64_t H : {15, 28})  // partial and whole 4x4 tiles (Auto: F(4x4); WinogradF2: F(2x2))
    for (const auto algo : kAlgos) {
      CAPTURE(H);
      const auto x = to_float(random_doubles(size_t(N * C * H * H), rng));
      const auto w = to_float(random_doubles(size_t(K * C * 9), rng, -0.5, 0.5));
      std::vector<float> xb(size_t(N * nc::blocks(C) * H * H * 16));
      nc::to_blocked(x.data(), N, C, H * H, xb.data());
      const nc::PackedConv pc = nc::pack_conv(w.data(), nullptr, K, C, 3, 3, 1, 1, false, false, algo);
      std::vector<std::vector<float>> outs;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        const Tensor y = Tensor::empty({N * nc::blocks(K) * H * H * 16});
        nc::conv2d(pc, N, H, H, xb.data(), y.data(), kReLU, false);
        outs.push_back(y.to_vector());
      }
      set_num_threads(saved);
      CAPTURE(int(algo));
      CHECK(outs[0] == outs[1]);
      CHECK(outs[0] == outs[2]);
    }
}

TEST_CASE("nchwc run_blocks: every block runs exactly once, also when one thread is slow", "[nchwc][parallel]") {
  const int saved = num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (const int64_t n : {1, 2, 5, 64, 301}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
      std::vector<std::thread::id> ran_on(static_cast<size_t>(n));
      nc::tile::run_blocks(n, [&](int64_t i) {
        // The first share (blocks [0, n/threads), thread 0's) is slow: the
        // other threads must take its later blocks from the back of the share.
        if (i < n / threads) std::this_thread::sleep_for(std::chrono::microseconds(200));
        runs[size_t(i)]++;
        ran_on[size_t(i)] = std::this_thread::get_id();
      });
      CAPTURE(threads, n);
      int64_t wrong = 0, stolen = 0;
      for (const auto& r : runs) wrong += r.load() != 1;
      for (int64_t i = 0; i < n / threads; ++i) stolen += ran_on[size_t(i)] != ran_on[0];
      CHECK(wrong == 0);
      if (threads > 1 && n >= 64) CHECK(stolen > 0);
    }
  }
  set_num_threads(saved);
}
