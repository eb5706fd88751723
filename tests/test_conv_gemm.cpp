// cpu::conv2d_forward_gemm (implicit im2col + packed GEMM) against a plain
// seven-loop convolution in double, on shapes that hit its edge cases:
// padding on every side, strides 1 and 2, 1x1/3x3/7x7 filters, output maps
// smaller than a 48-column strip (so strips straddle images), channel counts
// that are not multiples of the 8-row tile, and batches.
#include <tuple>

#include "engine/cpu/conv2d_forward.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
Conv2dShape make_shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride,
                       int64_t pad) {
  return {N, C, H, W, K, R, S, stride, pad, (H + 2 * pad - R) / stride + 1, (W + 2 * pad - S) / stride + 1};
}

std::vector<double> conv_naive(const Conv2dShape& s, const std::vector<double>& x, const std::vector<double>& w,
                               const std::vector<double>& b, bool relu) {
  std::vector<double> y(size_t(s.N * s.K * s.P * s.Q));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          double acc = b.empty() ? 0 : b[size_t(k)];
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                acc += x[size_t(((n * s.C + c) * s.H + h) * s.W + v)] * w[size_t(((k * s.C + c) * s.R + r) * s.S + t)];
              }
          y[size_t(((n * s.K + k) * s.P + p) * s.Q + q)] = relu ? std::max(acc, 0.0) : acc;
        }
  return y;
}

// Sums of C*R*S (<= 600 here) float products in another order: relative
// error ~1e-6 of the output scale; 1e-4 leaves margin, a wrong index gives O(1).
void check_conv(const Conv2dShape& s, bool with_bias, bool relu, Rng& rng) {
  CAPTURE(s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, with_bias, relu);
  auto x = random_doubles(size_t(s.N * s.C * s.H * s.W), rng);
  auto w = random_doubles(size_t(s.K * s.C * s.R * s.S), rng);
  auto b = with_bias ? random_doubles(size_t(s.K), rng) : std::vector<double>{};
  const auto want = conv_naive(s, x, w, b, relu);
  auto xf = to_float(x), wf = to_float(w), bf = to_float(b);
  std::vector<float> y(want.size(), NAN);  // every element must be written
  cpu::conv2d_forward_gemm(s, xf.data(), wf.data(), with_bias ? bf.data() : nullptr, y.data(), relu);
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < y.size(); ++i) {
    REQUIRE(std::isfinite(y[i]));
    worst = std::max(worst, std::abs(double(y[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  CHECK(worst / scale < 1e-4);
}
}  // namespace

TEST_CASE("conv2d gemm path: equals the naive convolution on edge-case shapes", "[conv][conv_gemm]") {
  Rng rng(21);
  for (const auto& s : std::vector<Conv2dShape>{
           make_shape(1, 3, 9, 11, 5, 3, 3, 1, 1),     // tiny, odd sizes, K < 8
           make_shape(2, 4, 7, 7, 16, 3, 3, 1, 1),     // 49-column images: strips straddle images
           make_shape(3, 5, 8, 6, 9, 3, 3, 2, 1),      // stride 2, K not a multiple of 8
           make_shape(2, 3, 20, 20, 8, 7, 7, 2, 3),    // a small ResNet stem
           make_shape(2, 16, 10, 10, 24, 1, 1, 1, 0),  // pointwise: contiguous loads
           make_shape(2, 16, 10, 10, 24, 1, 1, 2, 0),  // strided pointwise (downsample)
           make_shape(1, 2, 5, 5, 3, 5, 5, 1, 0),      // filter as large as the image: 1x1 output
           make_shape(1, 2, 4, 4, 3, 3, 3, 1, 2),      // padding larger than needed: zero border outputs
           make_shape(4, 70, 6, 6, 17, 3, 3, 1, 1),    // C*R*S = 630 > one 256 depth block
           make_shape(1, 8, 40, 33, 8, 3, 3, 1, 1)})   // several column chunks for one image
    for (bool with_bias : {false, true}) check_conv(s, with_bias, false, rng);
  check_conv(make_shape(2, 6, 9, 9, 12, 3, 3, 1, 1), true, true, rng);  // fused relu epilogue
}

TEST_CASE("conv2d gemm path: accumulate adds a residual before bias and relu", "[conv][conv_gemm]") {
  Rng rng(23);
  const Conv2dShape s = make_shape(2, 6, 7, 7, 10, 3, 3, 1, 1);  // 49-column images: split tiles too
  auto x = random_doubles(size_t(s.N * s.C * s.H * s.W), rng);
  auto w = random_doubles(size_t(s.K * s.C * s.R * s.S), rng);
  auto b = random_doubles(size_t(s.K), rng);
  auto res = random_doubles(size_t(s.N * s.K * s.P * s.Q), rng);
  auto want = conv_naive(s, x, w, b, false);
  for (size_t i = 0; i < want.size(); ++i) want[i] = std::max(want[i] + res[i], 0.0);
  auto xf = to_float(x), wf = to_float(w), bf = to_float(b);
  std::vector<float> y = to_float(res);
  cpu::conv2d_forward_gemm(s, xf.data(), wf.data(), bf.data(), y.data(), true, true);
  double worst = 0;
  for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(double(y[i]) - want[i]));
  CHECK(worst < 1e-4);  // outputs are O(1..10): sums of 54 products plus the residual
}

TEST_CASE("conv2d gemm path: bit-identical with 1 and 2 threads", "[conv][conv_gemm][threads]") {
  Rng rng(22);
  const Conv2dShape s = make_shape(3, 32, 14, 14, 40, 3, 3, 1, 1);
  auto x = to_float(random_doubles(size_t(s.N * s.C * s.H * s.W), rng));
  auto w = to_float(random_doubles(size_t(s.K * s.C * s.R * s.S), rng));
  auto b = to_float(random_doubles(size_t(s.K), rng));
  std::vector<float> y1(size_t(s.N * s.K * s.P * s.Q)), y2(y1.size());
  const int saved = num_threads();
  set_num_threads(1);
  cpu::conv2d_forward_gemm(s, x.data(), w.data(), b.data(), y1.data());
  set_num_threads(2);
  cpu::conv2d_forward_gemm(s, x.data(), w.data(), b.data(), y2.data());
  set_num_threads(saved);
  CHECK(y1 == y2);
}
