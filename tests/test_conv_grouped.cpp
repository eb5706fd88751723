// Grouped and depthwise conv2d: the fast CPU paths (depthwise kernel, dense-per-group) against
// the reference on every MobileNetV2 depthwise shape and odd ones, finite differences of the
// reference in double, the autograd wiring, thread-count independence, bad shapes, nn::Conv2d.
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_grouped.h"
#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
Conv2dShape make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride,
                 int64_t pad, int64_t groups) {
  Conv2dShape s{N,     C, H, W, K, R, S, stride, pad, (H + 2 * pad - R) / stride + 1, (W + 2 * pad - S) / stride + 1,
                groups};
  return s;
}
Conv2dShape depthwise(int64_t N, int64_t C, int64_t H, int64_t stride) {
  return make(N, C, H, H, C, 3, 3, stride, 1, C);
}
int64_t x_size(const Conv2dShape& s) { return s.N * s.C * s.H * s.W; }
int64_t w_size(const Conv2dShape& s) { return s.K * (s.C / s.groups) * s.R * s.S; }
int64_t y_size(const Conv2dShape& s) { return s.N * s.K * s.P * s.Q; }
std::string describe(const Conv2dShape& s) {
  return "x (" + std::to_string(s.N) + "," + std::to_string(s.C) + "," + std::to_string(s.H) + "," +
         std::to_string(s.W) + ") K=" + std::to_string(s.K) + " " + std::to_string(s.R) + "x" + std::to_string(s.S) +
         " stride=" + std::to_string(s.stride) + " pad=" + std::to_string(s.pad) +
         " groups=" + std::to_string(s.groups);
}

// Every depthwise layer of torchvision's mobilenet_v2 at 224x224 (3x3, padding 1):
// channels @ input size, stride. Batch 2, so planes of two images are told apart.
const std::vector<Conv2dShape> kMobileNetV2 = {
    depthwise(2, 32, 112, 1), depthwise(2, 96, 112, 2), depthwise(2, 144, 56, 1), depthwise(2, 144, 56, 2),
    depthwise(2, 192, 28, 1), depthwise(2, 192, 28, 2), depthwise(2, 384, 14, 1), depthwise(2, 576, 14, 1),
    depthwise(2, 576, 14, 2), depthwise(2, 960, 7, 1),
};
// Odd depthwise shapes (non-square kernels and maps, stride 3, no padding, a 1x1 map, a
// kernel as large as the padded input) and general groups: 2 and 4 groups of several
// channels each, fewer outputs than inputs per group, a depth multiplier (K = 2C, groups = C).
const std::vector<Conv2dShape> kOdd = {
    make(3, 5, 9, 7, 5, 3, 5, 2, 2, 5), make(1, 4, 11, 10, 4, 5, 3, 3, 0, 4), make(2, 3, 1, 1, 3, 3, 3, 1, 1, 3),
    make(1, 2, 4, 6, 2, 6, 8, 1, 1, 2), make(2, 7, 13, 5, 7, 3, 3, 1, 1, 7),  make(1, 6, 10, 10, 6, 3, 3, 2, 1, 6),
    make(2, 4, 9, 9, 6, 3, 3, 1, 1, 2), make(3, 12, 8, 7, 8, 3, 3, 2, 1, 4),  make(1, 8, 10, 9, 16, 1, 1, 1, 0, 4),
    make(2, 3, 8, 8, 6, 3, 3, 1, 1, 3), make(5, 8, 7, 7, 8, 3, 3, 1, 1, 2),   make(1, 16, 12, 12, 16, 3, 3, 2, 1, 8),
};

// Runs fast and reference (double, on the float-rounded inputs) and compares all three results.
void check_fast_against_reference(const Conv2dShape& s, Rng& rng) {
  INFO(describe(s));
  auto xf = to_float(random_doubles(x_size(s), rng)), wf = to_float(random_doubles(w_size(s), rng));
  auto bf = to_float(random_doubles(s.K, rng)), dyf = to_float(random_doubles(y_size(s), rng));
  auto x = to_double(xf), w = to_double(wf), b = to_double(bf), dy = to_double(dyf);
  std::vector<double> y(y_size(s)), dx(x_size(s)), dw(w_size(s));
  ref::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
  ref::conv2d_backward_input(s, dy.data(), w.data(), dx.data());
  ref::conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
  // Outputs start as NaN: an element a kernel fails to write (or adds to) cannot pass.
  std::vector<float> yf(y_size(s), NAN), dxf(x_size(s), NAN), dwf(w_size(s), NAN);
  cpu::conv2d_grouped_forward(s, xf.data(), wf.data(), bf.data(), yf.data());
  cpu::conv2d_grouped_backward_input(s, dyf.data(), wf.data(), dxf.data());
  cpu::conv2d_grouped_backward_weight(s, xf.data(), dyf.data(), dwf.data());
  // y and dx are float sums of at most Cg*R*S products (depthwise: 9), whose relative L2
  // error is ~1e-7; dw sums N*P*Q products (up to 25088 here), in float per output row and in
  // double across rows (depthwise) or by GEMM blocks (groups): ~sqrt(112) * 6e-8 ~ 1e-6.
  // 1e-5 leaves margin; a wrong index or a missed tap gives O(1e-1) or more.
  CHECK(rel_l2_error(yf, y) < 1e-5);
  CHECK(rel_l2_error(dxf, dx) < 1e-5);
  CHECK(rel_l2_error(dwf, dw) < 1e-5);
  // Without bias: the same output less the bias.
  std::vector<float> y_nobias(y_size(s), NAN);
  cpu::conv2d_grouped_forward(s, xf.data(), wf.data(), nullptr, y_nobias.data());
  for (int64_t i = 0; i < y_size(s); ++i) y_nobias[size_t(i)] += bf[size_t(i / (s.P * s.Q) % s.K)];
  CHECK(rel_l2_error(y_nobias, y) < 1e-5);
}
}  // namespace

TEST_CASE("conv2d grouped: depthwise fast CPU equals reference on every MobileNetV2 shape", "[ops][conv][grouped]") {
  Rng rng(180);
  for (const auto& s : kMobileNetV2) {
    REQUIRE(cpu::is_depthwise(s));
    check_fast_against_reference(s, rng);
  }
}

TEST_CASE("conv2d grouped: fast CPU equals reference on odd and general grouped shapes", "[ops][conv][grouped]") {
  Rng rng(181);
  for (const auto& s : kOdd) check_fast_against_reference(s, rng);
}

TEST_CASE("conv2d grouped: the reference with groups 1 is the dense reference", "[ops][conv][grouped]") {
  // Same loops, same order of additions: exactly equal.
  Rng rng(182);
  const Conv2dShape s = make(2, 3, 7, 6, 4, 3, 3, 2, 1, 1);
  auto x = random_doubles(x_size(s), rng), w = random_doubles(w_size(s), rng), dy = random_doubles(y_size(s), rng);
  std::vector<double> y1(y_size(s)), y2(y_size(s)), dx1(x_size(s)), dx2(x_size(s)), dw1(w_size(s)), dw2(w_size(s));
  ref::conv2d_forward<double>(s, x.data(), w.data(), nullptr, y1.data());
  ref::conv2d_forward<double>(s, x.data(), w.data(), nullptr, y2.data());
  ref::conv2d_backward_input(s, dy.data(), w.data(), dx1.data());
  ref::conv2d_backward_input(s, dy.data(), w.data(), dx2.data());
  ref::conv2d_backward_weight(s, x.data(), dy.data(), dw1.data());
  ref::conv2d_backward_weight(s, x.data(), dy.data(), dw2.data());
  CHECK(y1 == y2);
  CHECK(dx1 == dx2);
  CHECK(dw1 == dw2);
}

TEST_CASE("conv2d grouped: reference backward matches finite differences (double)", "[ops][conv][grouped][gradcheck]") {
  // The loss sum(y * r) is linear in x and in w: central differences are exact up to
  // rounding (~1e-10 relative at h = 1e-6); 1e-6 with floor 1e-2 catches any wrong term.
  Rng rng(183);
  for (const auto& s :
       {make(2, 4, 6, 5, 6, 3, 3, 2, 1, 2), make(1, 3, 7, 7, 3, 3, 3, 2, 1, 3), make(2, 4, 5, 6, 8, 3, 2, 1, 1, 4)}) {
    INFO(describe(s));
    auto x = random_doubles(x_size(s), rng), w = random_doubles(w_size(s), rng), r = random_doubles(y_size(s), rng);
    auto loss_at = [&](const std::vector<double>& xv, const std::vector<double>& wv) {
      std::vector<double> y(y_size(s));
      ref::conv2d_forward<double>(s, xv.data(), wv.data(), nullptr, y.data());
      double l = 0;
      for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
      return l;
    };
    std::vector<double> dx(x_size(s)), dw(w_size(s));
    ref::conv2d_backward_input(s, r.data(), w.data(), dx.data());
    ref::conv2d_backward_weight(s, x.data(), r.data(), dw.data());
    CHECK(max_rel_error(dx, numeric_gradient([&](const std::vector<double>& v) { return loss_at(v, w); }, x), 1e-2) <
          1e-6);
    CHECK(max_rel_error(dw, numeric_gradient([&](const std::vector<double>& v) { return loss_at(x, v); }, w), 1e-2) <
          1e-6);
  }
}

TEST_CASE("conv2d grouped: autograd wiring equals the fast kernels, bias gradient included",
          "[ops][conv][grouped][autograd]") {
  Rng rng(184);
  for (int groups : {2, 6}) {
    INFO("groups " << groups);
    const Conv2dShape s = make(2, 6, 9, 8, 6, 3, 3, 2, 1, groups);
    Tensor x = Tensor::randn({2, 6, 9, 8}, rng), w = Tensor::randn({6, 6 / groups, 3, 3}, rng);
    Tensor b = Tensor::randn({6}, rng), gy = Tensor::randn({2, 6, s.P, s.Q}, rng);
    x.set_requires_grad(true), w.set_requires_grad(true), b.set_requires_grad(true);
    Tensor y = conv2d(x, w, b, {2, 1, groups});
    REQUIRE(y.shape() == Shape{2, 6, s.P, s.Q});
    y.backward(gy);
    std::vector<float> yr(y_size(s)), dx(x_size(s)), dw(w_size(s)), db(6);
    cpu::conv2d_grouped_forward(s, x.data(), w.data(), b.data(), yr.data());
    cpu::conv2d_grouped_backward_input(s, gy.data(), w.data(), dx.data());
    cpu::conv2d_grouped_backward_weight(s, x.data(), gy.data(), dw.data());
    cpu::conv2d_backward_bias(s, gy.data(), db.data());
    // The op calls exactly these kernels: bit-identical.
    CHECK(y.to_vector() == yr);
    CHECK(x.grad().to_vector() == dx);
    CHECK(w.grad().to_vector() == dw);
    CHECK(b.grad().to_vector() == db);
  }
}

TEST_CASE("conv2d grouped: fast CPU result does not depend on the thread count", "[ops][conv][grouped]") {
  Rng rng(185);
  for (const auto& s : {depthwise(3, 24, 15, 1), depthwise(2, 20, 14, 2), make(3, 8, 9, 9, 12, 3, 3, 1, 1, 4)}) {
    INFO(describe(s));
    auto x = to_float(random_doubles(x_size(s), rng)), w = to_float(random_doubles(w_size(s), rng));
    auto b = to_float(random_doubles(s.K, rng)), dy = to_float(random_doubles(y_size(s), rng));
    auto run = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> y(y_size(s), NAN), dx(x_size(s), NAN), dw(w_size(s), NAN);
      cpu::conv2d_grouped_forward(s, x.data(), w.data(), b.data(), y.data());
      cpu::conv2d_grouped_backward_input(s, dy.data(), w.data(), dx.data());
      cpu::conv2d_grouped_backward_weight(s, x.data(), dy.data(), dw.data());
      set_num_threads(0);
      return std::vector<std::vector<float>>{y, dx, dw};
    };
    CHECK(run(1) == run(2));
  }
}

TEST_CASE("conv2d grouped: bad shapes give a clear error", "[ops][conv][grouped]") {
  Rng rng(186);
  Tensor x = Tensor::randn({1, 6, 5, 5}, rng);
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::randn({6, 2, 3, 3}, rng), Tensor(), {1, 1, 4}),
                      Catch::Contains("multiples of groups = 4"));
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::randn({4, 2, 3, 3}, rng), Tensor(), {1, 1, 2}), Catch::Contains("expects 4"));
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::randn({6, 1, 3, 3}, rng), Tensor(), {1, 1, 0}),
                      Catch::Contains("groups must be at least 1"));
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::randn({5, 2, 3, 3}, rng), Tensor(), {1, 1, 3}),
                      Catch::Contains("5 output channels"));
  REQUIRE_THROWS_WITH(nn::Conv2d(6, 4, 3, 1, 1, false, rng, 4), Catch::Contains("multiples of groups = 4"));
}

TEST_CASE("conv2d grouped: nn::Conv2d with groups", "[ops][conv][grouped]") {
  Rng rng(187);
  nn::Conv2d dw(32, 32, 3, 2, 1, false, rng, 32);
  CHECK(dw.weight.shape() == Shape{32, 1, 3, 3});
  // PyTorch's bound: 1/sqrt(fan_in) with fan_in = (32/32) * 3 * 3, so 1/3.
  for (float v : dw.weight.to_vector()) CHECK(std::abs(v) <= 1.f / 3.f);
  CHECK(dw.extra_repr() == "32, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=32, bias=False");
  const auto names = dw.state_dict();
  REQUIRE(names.size() == 1);
  CHECK(names[0].first == "weight");
  Tensor y = dw.forward(Tensor::randn({1, 32, 9, 9}, rng));
  CHECK(y.shape() == Shape{1, 32, 5, 5});
  nn::Conv2d g(8, 12, 1, 1, 0, true, rng, 4);
  CHECK(g.weight.shape() == Shape{12, 2, 1, 1});
  CHECK(g.extra_repr() == "8, 12, kernel_size=(1, 1), stride=(1, 1), groups=4");
}

TEST_CASE("parity: grouped and depthwise conv2d forward and backward equal PyTorch", "[parity][conv][grouped]") {
  // Sums of at most 18 products (and dw: 2*5*4 = 40) in another order than PyTorch's:
  // float rounding ~1e-7 of the largest values; 1e-5 max-norm relative.
  const Fixture f = load_fixture("op_conv2d_grouped");
  struct Config {
    std::string name;
    int stride, pad, groups;
    bool bias;
  };
  for (const Config& c : {Config{"dw_s2_bias", 2, 1, 4, true}, Config{"g2", 1, 1, 2, false}}) {
    INFO(c.name);
    Tensor x = f.tensor(c.name + ".x"), w = f.tensor(c.name + ".w");
    x.set_requires_grad(true), w.set_requires_grad(true);
    Tensor b = c.bias ? f.tensor(c.name + ".b") : Tensor();
    if (c.bias) b.set_requires_grad(true);
    Tensor y = conv2d(x, w, b, {c.stride, c.pad, c.groups});
    y.backward(f.tensor(c.name + ".gy"));
    auto close = [&](const Tensor& t, const std::string& key) {
      const auto want = f.data(key);
      double scale = 0;
      for (float v : want) scale = std::max(scale, double(std::abs(v)));
      return max_rel_error(t.to_vector(), want, scale) < 1e-5;  // floor = the largest value: max-norm relative
    };
    CHECK(close(y, c.name + ".y"));
    CHECK(close(x.grad(), c.name + ".gx"));
    CHECK(close(w.grad(), c.name + ".gw"));
    if (c.bias) CHECK(close(b.grad(), c.name + ".gb"));
  }
}
