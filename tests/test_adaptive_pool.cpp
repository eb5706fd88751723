// adaptive_avg_pool2d to any output size: fast CPU vs reference (overlapping bins included),
// finite differences in double, autograd, thread count, bad sizes, nn::AdaptiveAvgPool2d,
// and PyTorch's golden values.
#include "engine/cpu/adaptive_pool.h"
#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
int64_t in_size(const AdaptivePool2dShape& s) { return s.N * s.C * s.H * s.W; }
int64_t out_size(const AdaptivePool2dShape& s) { return s.N * s.C * s.P * s.Q; }
// 7x7 from VGG's 7x7 (identity bins) and from larger maps; bins that overlap (10 -> 7,
// 5 -> 3), that are single pixels, output larger than input (3 -> 7: repeated pixels),
// non-square outputs, a 1-pixel input.
const std::vector<AdaptivePool2dShape> kShapes = {
    {2, 3, 7, 7, 7, 7},  {1, 4, 14, 14, 7, 7}, {2, 2, 10, 9, 7, 7}, {1, 3, 5, 5, 3, 3},    {2, 2, 3, 4, 7, 7},
    {1, 2, 8, 11, 3, 5}, {1, 1, 1, 1, 2, 3},   {3, 5, 13, 6, 4, 1}, {1, 64, 15, 15, 7, 7},
};
}  // namespace

TEST_CASE("adaptive_avg_pool2d: fast CPU equals reference", "[ops][avgpool]") {
  // Each output is a float sum of at most a few hundred values divided once; each dx a sum
  // of at most a few bins' shares: relative L2 error ~1e-7. 1e-6 fails on any wrong bin.
  Rng rng(210);
  for (const auto& s : kShapes) {
    INFO("H=" << s.H << " W=" << s.W << " -> " << s.P << "x" << s.Q);
    auto x = to_float(random_doubles(in_size(s), rng)), dy = to_float(random_doubles(out_size(s), rng));
    std::vector<double> y_ref(out_size(s)), dx_ref(in_size(s));
    ref::adaptive_avg_pool2d_forward(s, to_double(x).data(), y_ref.data());
    ref::adaptive_avg_pool2d_backward(s, to_double(dy).data(), dx_ref.data());
    std::vector<float> y(out_size(s), NAN), dx(in_size(s), NAN);
    cpu::adaptive_avg_pool2d_forward(s, x.data(), y.data());
    cpu::adaptive_avg_pool2d_backward(s, dy.data(), dx.data());
    CHECK(rel_l2_error(y, y_ref) < 1e-6);
    CHECK(rel_l2_error(dx, dx_ref) < 1e-6);
  }
}

TEST_CASE("adaptive_avg_pool2d: fast CPU result does not depend on the thread count", "[ops][avgpool]") {
  Rng rng(211);
  const AdaptivePool2dShape s{4, 100, 10, 9, 7, 7};
  auto x = to_float(random_doubles(in_size(s), rng)), dy = to_float(random_doubles(out_size(s), rng));
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> y(out_size(s), NAN), dx(in_size(s), NAN);
    cpu::adaptive_avg_pool2d_forward(s, x.data(), y.data());
    cpu::adaptive_avg_pool2d_backward(s, dy.data(), dx.data());
    set_num_threads(0);
    return std::make_pair(y, dx);
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("adaptive_avg_pool2d: reference backward matches finite differences (double)", "[ops][avgpool][gradcheck]") {
  // Linear in x: central differences exact up to rounding; 1e-6 with floor 1e-2.
  Rng rng(212);
  for (const AdaptivePool2dShape s : {AdaptivePool2dShape{2, 2, 10, 9, 7, 7}, AdaptivePool2dShape{1, 2, 3, 4, 5, 6}}) {
    auto x = random_doubles(in_size(s), rng), r = random_doubles(out_size(s), rng);
    auto loss = [&](const std::vector<double>& xv) {
      std::vector<double> y(out_size(s));
      ref::adaptive_avg_pool2d_forward(s, xv.data(), y.data());
      double l = 0;
      for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
      return l;
    };
    std::vector<double> dx(in_size(s));
    ref::adaptive_avg_pool2d_backward(s, r.data(), dx.data());
    CHECK(max_rel_error(dx, numeric_gradient(loss, x), 1e-2) < 1e-6);
  }
}

TEST_CASE("adaptive_avg_pool2d: autograd wiring, 1x1 special case, bad sizes, module", "[ops][avgpool][autograd]") {
  Rng rng(213);
  const AdaptivePool2dShape s{2, 3, 10, 9, 7, 7};
  Tensor x = Tensor::randn({2, 3, 10, 9}, rng), gy = Tensor::randn({2, 3, 7, 7}, rng);
  x.set_requires_grad(true);
  Tensor y = adaptive_avg_pool2d(x, 7, 7);
  REQUIRE(y.shape() == Shape{2, 3, 7, 7});
  y.backward(gy);
  std::vector<float> yr(out_size(s)), dx(in_size(s));
  cpu::adaptive_avg_pool2d_forward(s, x.data(), yr.data());
  cpu::adaptive_avg_pool2d_backward(s, gy.data(), dx.data());
  CHECK(y.to_vector() == yr);  // the op calls exactly these kernels
  CHECK(x.grad().to_vector() == dx);
  // 1x1 is the global mean's kernel, unchanged.
  CHECK(adaptive_avg_pool2d(x.detach(), 1, 1).to_vector() == adaptive_avg_pool2d_1x1(x.detach()).to_vector());
  REQUIRE_THROWS_WITH(adaptive_avg_pool2d(x, 0, 7), Catch::Contains("at least 1x1"));
  REQUIRE_THROWS_WITH(adaptive_avg_pool2d(Tensor::randn({2, 3, 4}, rng), 7, 7), Catch::Contains("(N,C,H,W)"));
  nn::AdaptiveAvgPool2d pool(7, 7), global;
  CHECK(pool.extra_repr() == "output_size=(7, 7)");
  CHECK(global.extra_repr() == "output_size=(1, 1)");
  CHECK(pool.forward(x.detach()).to_vector() == yr);
}

TEST_CASE("parity: adaptive average pooling forward and backward equal PyTorch", "[parity][avgpool]") {
  // PyTorch sums each bin in float in the same row-major order, then divides: within
  // float rounding of a few-term sum; 1e-6 max-norm relative.
  const Fixture f = load_fixture("op_adaptive_avgpool");
  for (const std::string name : {"10x9_to_7x7", "5x5_to_3x3", "3x4_to_7x7"}) {
    INFO(name);
    Tensor x = f.tensor(name + ".x");
    x.set_requires_grad(true);
    const Shape ys = f.shape(name + ".y");
    Tensor y = adaptive_avg_pool2d(x, int(ys[2]), int(ys[3]));
    y.backward(f.tensor(name + ".gy"));
    CHECK(max_rel_error(y.to_vector(), f.data(name + ".y"), 1.0) < 1e-6);
    CHECK(max_rel_error(x.grad().to_vector(), f.data(name + ".gx"), 1.0) < 1e-6);
  }
}
