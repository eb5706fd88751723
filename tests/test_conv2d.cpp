// conv2d: fast CPU (im2col + GEMM) vs reference, finite-difference gradients
// of the reference in double, and the autograd wiring.
#include "engine/cpu/conv2d.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
Conv2dShape make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t stride, int64_t pad) {
  Conv2dShape s{N, C, H, W, K, R, R, stride, pad, 0, 0};
  s.P = (H + 2 * pad - R) / stride + 1;
  s.Q = (W + 2 * pad - R) / stride + 1;
  return s;
}
int64_t x_size(const Conv2dShape& s) { return s.N * s.C * s.H * s.W; }
int64_t w_size(const Conv2dShape& s) { return s.K * s.C * s.R * s.S; }
int64_t y_size(const Conv2dShape& s) { return s.N * s.K * s.P * s.Q; }
std::string describe(const Conv2dShape& s) {
  return "x (" + std::to_string(s.N) + "," + std::to_string(s.C) + "," + std::to_string(s.H) + "," +
         std::to_string(s.W) + ") K=" + std::to_string(s.K) + " R=" + std::to_string(s.R) +
         " stride=" + std::to_string(s.stride) + " pad=" + std::to_string(s.pad);
}

// Odd sizes, batch 1 and >1 (and > 4, the weight-gradient group count), 1x1 /
// 3x3 / 7x7, stride 2 with padding, and ResNet-like channel counts; some with
// more than one GEMM tile (P*Q > 256 columns, or K > 64 rows with P*Q < K).
const std::vector<Conv2dShape> kShapes = {
    make(1, 3, 9, 9, 4, 3, 1, 1),
    make(2, 3, 11, 13, 5, 3, 2, 1),
    make(1, 4, 7, 7, 6, 1, 1, 0),
    make(2, 8, 8, 8, 16, 1, 2, 0),
    make(1, 3, 23, 23, 4, 7, 2, 3),
    make(3, 5, 6, 5, 3, 3, 1, 0),
    make(5, 4, 9, 7, 6, 3, 2, 1),
    make(1, 32, 7, 7, 130, 3, 1, 1),
    make(1, 8, 20, 20, 16, 3, 1, 1),
    make(2, 16, 14, 14, 32, 3, 1, 1),
    make(1, 3, 56, 56, 64, 7, 2, 3),
    make(1, 64, 28, 28, 128, 3, 2, 1),
    make(2, 64, 14, 14, 256, 1, 1, 0),
    make(1, 5, 4, 4, 3, 5, 1, 2),
    // Small maps: the backward GEMMs take several images side by side (4 of 10x10,
    // 8 of 7x7): full and partial image groups, and weight-gradient groups of 6 images;
    // stride 2 (the input gradient by GEMM + col2im, not as a flipped convolution).
    make(21, 3, 10, 10, 5, 3, 1, 1),
    make(11, 6, 7, 7, 9, 3, 1, 1),
    make(9, 4, 13, 13, 6, 3, 2, 1),
    // 1x1 on small maps: both backward GEMMs take 8 images' planes side by side.
    make(11, 6, 7, 7, 9, 1, 1, 0),
    // Stride 1 with 384+ output pixels: the input gradient as a flipped convolution,
    // padding R-1-pad = 2 here (unpadded 3x3) and 2 (5x5, pad 2).
    make(2, 3, 22, 22, 4, 3, 1, 0),
    make(1, 2, 20, 20, 3, 5, 1, 2),
};
}  // namespace

TEST_CASE("conv2d: fast CPU equals reference, forward and backward", "[ops][conv]") {
  // The fast path sums in a different order (GEMM blocking), so compare the
  // float fast result with the reference run in double: the relative L2 error
  // of a float dot product of length k grows like sqrt(k) * 6e-8 (~1.5e-6 for
  // k = 576); 1e-5 leaves margin yet a wrong index gives O(1).
  Rng rng(10);
  for (const auto& s : kShapes) {
    INFO(describe(s));
    auto x = random_doubles(x_size(s), rng), w = random_doubles(w_size(s), rng), b = random_doubles(s.K, rng);
    auto dy = random_doubles(y_size(s), rng);
    auto xf = to_float(x), wf = to_float(w), bf = to_float(b), dyf = to_float(dy);
    // Use the float-rounded inputs for the double reference too.
    x = to_double(xf), w = to_double(wf), b = to_double(bf), dy = to_double(dyf);

    std::vector<double> y(y_size(s)), dx(x_size(s)), dw(w_size(s)), db(s.K);
    ref::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    ref::conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    ref::conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
    ref::conv2d_backward_bias(s, dy.data(), db.data());

    // Outputs start as NaN: an element a kernel fails to write (or adds to) cannot pass.
    std::vector<float> yf(y_size(s), NAN), dxf(x_size(s), NAN), dwf(w_size(s), NAN), dbf(s.K, NAN);
    cpu::conv2d_forward(s, xf.data(), wf.data(), bf.data(), yf.data());
    cpu::conv2d_backward_input(s, dyf.data(), wf.data(), dxf.data());
    cpu::conv2d_backward_weight(s, xf.data(), dyf.data(), dwf.data());
    cpu::conv2d_backward_bias(s, dyf.data(), dbf.data());
    CHECK(rel_l2_error(yf, y) < 1e-5);
    CHECK(rel_l2_error(dxf, dx) < 1e-5);
    CHECK(rel_l2_error(dwf, dw) < 1e-5);
    CHECK(rel_l2_error(dbf, db) < 1e-5);

    // Without bias: exactly the biased output minus the bias.
    std::vector<float> y_nobias(y_size(s), NAN);
    cpu::conv2d_forward(s, xf.data(), wf.data(), nullptr, y_nobias.data());
    std::vector<double> y_ref_nobias(y_size(s));
    ref::conv2d_forward<double>(s, x.data(), w.data(), nullptr, y_ref_nobias.data());
    CHECK(rel_l2_error(y_nobias, y_ref_nobias) < 1e-5);
  }
}

TEST_CASE("conv2d: fast results do not depend on the thread count or the batch", "[ops][conv]") {
  Rng rng(11);
  for (const auto& s :
       {make(3, 16, 15, 15, 70, 3, 1, 1), make(1, 8, 20, 20, 16, 3, 2, 1), make(10, 8, 7, 7, 12, 3, 1, 1),
        make(3, 4, 20, 20, 6, 3, 1, 1), make(10, 8, 13, 13, 12, 3, 2, 1)}) {
    INFO(describe(s));
    auto x = to_float(random_doubles(x_size(s), rng)), w = to_float(random_doubles(w_size(s), rng));
    auto dy = to_float(random_doubles(y_size(s), rng));
    auto run = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> y(y_size(s)), dx(x_size(s)), dw(w_size(s));
      cpu::conv2d_forward(s, x.data(), w.data(), nullptr, y.data());
      cpu::conv2d_backward_input(s, dy.data(), w.data(), dx.data());
      cpu::conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
      set_num_threads(0);
      return std::vector<std::vector<float>>{y, dx, dw};
    };
    CHECK(run(1) == run(2));  // bitwise
    // An image gives the same output alone as inside a batch.
    Conv2dShape one = s;
    one.N = 1;
    std::vector<float> y_batch(y_size(s)), y_last(y_size(one));
    cpu::conv2d_forward(s, x.data(), w.data(), nullptr, y_batch.data());
    cpu::conv2d_forward(one, x.data() + (s.N - 1) * x_size(one), w.data(), nullptr, y_last.data());
    CHECK(std::vector<float>(y_batch.end() - y_size(one), y_batch.end()) == y_last);
    // Also its input gradient (the backward GEMM may hold several images side by
    // side), except for a stride-1 3x3 map under 384 pixels, whose dx switches to
    // the flipped-convolution path in a batch of 384+ columns (other summation order).
    const bool pointwise = s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0;
    if (s.stride != 1 || s.P * s.Q >= 384 || pointwise) {
      std::vector<float> dx_batch(x_size(s)), dx_last(x_size(one));
      cpu::conv2d_backward_input(s, dy.data(), w.data(), dx_batch.data());
      cpu::conv2d_backward_input(one, dy.data() + (s.N - 1) * y_size(one), w.data(), dx_last.data());
      CHECK(std::vector<float>(dx_batch.end() - x_size(one), dx_batch.end()) == dx_last);
    }
  }
}

TEST_CASE("conv2d: reference backward matches finite differences (double)", "[ops][conv][gradcheck]") {
  // Central differences of L = sum(y * r) in double: L is linear here, so the
  // only error is rounding, |L| * 1e-16 / h ~ 1e-9 absolute. Hence relative
  // error 1e-6 with a floor of 1e-2 (i.e. 1e-8 absolute for tiny entries);
  // a missing or misplaced term is off by O(0.1).
  Rng rng(12);
  for (const auto& s : {make(2, 2, 5, 6, 3, 3, 2, 1), make(1, 3, 4, 4, 2, 1, 1, 0), make(1, 2, 7, 7, 2, 7, 2, 3)}) {
    INFO(describe(s));
    auto x = random_doubles(x_size(s), rng), w = random_doubles(w_size(s), rng), b = random_doubles(s.K, rng);
    auto r = random_doubles(y_size(s), rng);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv, const std::vector<double>& bv) {
      std::vector<double> y(y_size(s));
      ref::conv2d_forward(s, xv.data(), wv.data(), bv.data(), y.data());
      double l = 0;
      for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
      return l;
    };
    std::vector<double> dx(x_size(s)), dw(w_size(s)), db(s.K);
    ref::conv2d_backward_input(s, r.data(), w.data(), dx.data());
    ref::conv2d_backward_weight(s, x.data(), r.data(), dw.data());
    ref::conv2d_backward_bias(s, r.data(), db.data());
    CHECK(max_rel_error(dx, numeric_gradient([&](const std::vector<double>& v) { return loss(v, w, b); }, x), 1e-2) <
          1e-6);
    CHECK(max_rel_error(dw, numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, b); }, w), 1e-2) <
          1e-6);
    CHECK(max_rel_error(db, numeric_gradient([&](const std::vector<double>& v) { return loss(x, w, v); }, b), 1e-2) <
          1e-6);
  }
}

TEST_CASE("conv2d: autograd wiring equals the reference backward", "[ops][conv][autograd]") {
  Rng rng(13);
  const Conv2dShape s = make(2, 3, 8, 7, 4, 3, 2, 1);
  Tensor x = Tensor::randn({s.N, s.C, s.H, s.W}, rng), w = Tensor::randn({s.K, s.C, s.R, s.S}, rng);
  Tensor b = Tensor::randn({s.K}, rng), gy = Tensor::randn({s.N, s.K, s.P, s.Q}, rng);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor y = conv2d(x, w, b, {2, 1});
  REQUIRE(y.shape() == Shape{s.N, s.K, s.P, s.Q});
  y.backward(gy);
  std::vector<float> y_ref(y_size(s)), dx(x_size(s)), dw(w_size(s)), db(s.K);
  ref::conv2d_forward(s, x.data(), w.data(), b.data(), y_ref.data());
  ref::conv2d_backward_input(s, gy.data(), w.data(), dx.data());
  ref::conv2d_backward_weight(s, x.data(), gy.data(), dw.data());
  ref::conv2d_backward_bias(s, gy.data(), db.data());
  // Float fast vs float reference: both carry rounding, hence 1e-5 (see above).
  CHECK(rel_l2_error(y.to_vector(), y_ref) < 1e-5);
  CHECK(rel_l2_error(x.grad().to_vector(), dx) < 1e-5);
  CHECK(rel_l2_error(w.grad().to_vector(), dw) < 1e-5);
  CHECK(rel_l2_error(b.grad().to_vector(), db) < 1e-5);
}

TEST_CASE("conv2d: frozen weights get no gradient and record no graph", "[ops][conv][autograd]") {
  Rng rng(14);
  Tensor x = Tensor::randn({1, 2, 5, 5}, rng), w = Tensor::randn({3, 2, 3, 3}, rng);
  Tensor y = conv2d(x, w, Tensor(), {1, 1});
  CHECK(y.grad_fn() == nullptr);
  x.set_requires_grad(true);
  Tensor y2 = conv2d(x, w, Tensor(), {1, 1});
  y2.backward(Tensor::ones(y2.shape()));
  CHECK(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("conv2d: bad shapes give clear errors", "[ops][conv]") {
  Tensor x = Tensor::zeros({1, 3, 8, 8});
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::zeros({4, 2, 3, 3}), Tensor(), {}),
                      Catch::Contains("(4, 2, 3, 3)") && Catch::Contains("(1, 3, 8, 8)"));
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({5}), {}), Catch::Contains("bias"));
  REQUIRE_THROWS_WITH(conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3}), Tensor(), {}),
                      Catch::Contains("(N,C,H,W)"));
  REQUIRE_THROWS_WITH(conv2d(x, Tensor::zeros({4, 3, 11, 11}), Tensor(), {}), Catch::Contains("larger"));
}
