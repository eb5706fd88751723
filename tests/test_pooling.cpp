// max_pool2d and adaptive_avg_pool2d_1x1: fast vs reference, finite
// differences in double, autograd wiring.
#include "engine/cpu/pooling.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
Pool2dShape make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t k, int64_t stride, int64_t pad) {
  return {N, C, H, W, k, stride, pad, (H + 2 * pad - k) / stride + 1, (W + 2 * pad - k) / stride + 1};
}
int64_t in_size(const Pool2dShape& s) { return s.N * s.C * s.H * s.W; }
int64_t out_size(const Pool2dShape& s) { return s.N * s.C * s.P * s.Q; }
}  // namespace

TEST_CASE("max_pool2d: fast CPU equals reference", "[ops][maxpool]") {
  // Same comparisons and same additions in the same order: exactly equal.
  Rng rng(30);
  for (const auto& s : {make(1, 3, 112, 112, 3, 2, 1), make(2, 4, 7, 9, 3, 2, 1), make(1, 2, 5, 5, 2, 2, 0),
                        make(2, 3, 6, 6, 3, 1, 1), make(1, 1, 1, 1, 3, 2, 1)}) {
    INFO("H=" << s.H << " W=" << s.W << " k=" << s.kernel << " stride=" << s.stride << " pad=" << s.pad);
    auto x = to_float(random_doubles(in_size(s), rng)), dy = to_float(random_doubles(out_size(s), rng));
    // Outputs start as NaN: an element a kernel fails to write (or adds to) cannot pass.
    std::vector<float> y_ref(out_size(s), NAN), y(out_size(s), NAN), dx_ref(in_size(s), NAN), dx(in_size(s), NAN);
    ref::max_pool2d_forward(s, x.data(), y_ref.data());
    cpu::max_pool2d_forward(s, x.data(), y.data());
    ref::max_pool2d_backward(s, x.data(), dy.data(), dx_ref.data());
    cpu::max_pool2d_backward(s, x.data(), dy.data(), dx.data());
    CHECK(y == y_ref);
    CHECK(dx == dx_ref);
  }
}

TEST_CASE("max_pool2d: ties send the gradient to the first maximum, padding never wins", "[ops][maxpool]") {
  Tensor x = Tensor::from_vector({-5, -5, -5, -5}, {1, 1, 2, 2});
  x.set_requires_grad(true);
  Tensor y = max_pool2d(x, 3, 2, 1);  // one window covering all four (and padding)
  CHECK(y.to_vector() == std::vector<float>{-5});
  y.backward(Tensor::ones(y.shape()));
  CHECK(x.grad().to_vector() == std::vector<float>{1, 0, 0, 0});
}

TEST_CASE("max_pool2d: reference backward matches finite differences (double)", "[ops][maxpool][gradcheck]") {
  // Distinct values (a shuffled grid, gaps 0.01 >> h) keep every window's
  // maximum unique under the +-h probes; then L is locally linear: 1e-6 (floor 1e-2).
  Rng rng(31);
  const Pool2dShape s = make(2, 2, 7, 6, 3, 2, 1);
  std::vector<double> x(in_size(s));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01 * static_cast<double>(i);
  for (size_t i = x.size() - 1; i > 0; --i) std::swap(x[i], x[rng.randint(0, static_cast<int64_t>(i))]);
  auto r = random_doubles(out_size(s), rng);
  auto loss = [&](const std::vector<double>& xv) {
    std::vector<double> y(out_size(s));
    ref::max_pool2d_forward(s, xv.data(), y.data());
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
    return l;
  };
  std::vector<double> dx(in_size(s));
  ref::max_pool2d_backward(s, x.data(), r.data(), dx.data());
  CHECK(max_rel_error(dx, numeric_gradient(loss, x), 1e-2) < 1e-6);
}

TEST_CASE("max_pool2d: autograd wiring equals the reference backward", "[ops][maxpool][autograd]") {
  Rng rng(32);
  const Pool2dShape s = make(2, 3, 9, 8, 3, 2, 1);
  Tensor x = Tensor::randn({2, 3, 9, 8}, rng), gy = Tensor::randn({2, 3, s.P, s.Q}, rng);
  x.set_requires_grad(true);
  Tensor y = max_pool2d(x, 3, 2, 1);
  REQUIRE(y.shape() == Shape{2, 3, s.P, s.Q});
  y.backward(gy);
  std::vector<float> dx(in_size(s));
  ref::max_pool2d_backward(s, x.data(), gy.data(), dx.data());
  CHECK(x.grad().to_vector() == dx);
  REQUIRE_THROWS_WITH(max_pool2d(x, 3, 2, 2), Catch::Contains("padding"));
}

TEST_CASE("adaptive_avg_pool2d_1x1: fast CPU equals reference", "[ops][avgpool]") {
  // Vector-lane summation order differs, and with it the rounding of a float sum of
  // n <= 3136 values: about eps * sqrt(n) = 6e-8 * 56 = 3.3e-6 relative (the means of
  // random +-1 values are small, so the relative error is not tiny). Tolerance 1e-5:
  // 1e-6 held at -O3 but failed at -O2 (asan preset), where the loop vectorizes differently.
  Rng rng(33);
  // The AVX-512 path sums blocks of 16 planes: full and short blocks, several 256-plane
  // chunks, plane sizes below, at and above one vector (16), with and without prefetch (hw > 256).
  for (auto [planes, hw] : {std::pair<int64_t, int64_t>{3, 1},
                            {10, 49},
                            {2048, 49},
                            {7, 3136},
                            {16, 16},
                            {33, 15},
                            {37, 17},
                            {600, 49},
                            {20, 300},
                            {40, 3136},
                            {17, 1}}) {
    auto x = to_float(random_doubles(planes * hw, rng)), dy = to_float(random_doubles(planes, rng));
    std::vector<double> y_ref(planes), dx_ref(planes * hw);
    ref::avg_pool_1x1_forward(planes, hw, to_double(x).data(), y_ref.data());
    ref::avg_pool_1x1_backward(planes, hw, to_double(dy).data(), dx_ref.data());
    std::vector<float> y(planes, NAN), dx(planes * hw, NAN);
    cpu::avg_pool_1x1_forward(planes, hw, x.data(), y.data());
    cpu::avg_pool_1x1_backward(planes, hw, dy.data(), dx.data());
    CHECK(rel_l2_error(y, y_ref) < 1e-5);
    CHECK(rel_l2_error(dx, dx_ref) < 1e-6);  // a broadcast division: no sum
  }
}

TEST_CASE("adaptive_avg_pool2d_1x1: fast CPU result does not depend on the thread count or the plane's place",
          "[ops][avgpool]") {
  Rng rng(35);
  const int64_t planes = 1000, hw = 49;  // 4 chunks of 256 planes, the last one ends in a short block
  auto x = to_float(random_doubles(planes * hw, rng));
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> y(planes, NAN);
    cpu::avg_pool_1x1_forward(planes, hw, x.data(), y.data());
    set_num_threads(0);
    return y;
  };
  const auto y = run(1);
  CHECK(y == run(2));
  // Each plane's sum runs through the same lanes wherever it lies: plane 999 (in the
  // last, short block) alone gives the same bits as inside the whole tensor.
  for (int64_t i : {int64_t(0), int64_t(17), int64_t(999)}) {
    float one = NAN;
    cpu::avg_pool_1x1_forward(1, hw, x.data() + i * hw, &one);
    CHECK(one == y[i]);
  }
}

TEST_CASE("adaptive_avg_pool2d_1x1: backward matches finite differences, autograd wiring",
          "[ops][avgpool][gradcheck]") {
  Rng rng(34);
  const int64_t planes = 6, hw = 10;
  auto x = random_doubles(planes * hw, rng), r = random_doubles(planes, rng);
  auto loss = [&](const std::vector<double>& xv) {
    std::vector<double> y(planes);
    ref::avg_pool_1x1_forward(planes, hw, xv.data(), y.data());
    double l = 0;
    for (int64_t i = 0; i < planes; ++i) l += y[i] * r[i];
    return l;
  };
  std::vector<double> dx(planes * hw);
  ref::avg_pool_1x1_backward(planes, hw, r.data(), dx.data());
  CHECK(max_rel_error(dx, numeric_gradient(loss, x), 1e-2) < 1e-6);

  Tensor xt = Tensor::randn({2, 3, 2, 5}, rng), gy = Tensor::randn({2, 3, 1, 1}, rng);
  xt.set_requires_grad(true);
  Tensor y = adaptive_avg_pool2d_1x1(xt);
  REQUIRE(y.shape() == Shape{2, 3, 1, 1});
  y.backward(gy);
  std::vector<float> dxf(60);
  ref::avg_pool_1x1_backward(6, 10, gy.data(), dxf.data());
  CHECK(xt.grad().to_vector() == dxf);
}
