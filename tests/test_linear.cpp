// linear: fast (dot products at batch 1-4, GEMM above) vs reference, finite differences in double, autograd wiring.
#include "engine/cpu/linear.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("linear: fast CPU equals reference, forward and backward", "[ops][linear]") {
  // Fast float vs double reference: relative L2 1e-5 (float dot products up to length 2048, see test_conv2d).
  Rng rng(40);
  for (auto [N, in, out] : {std::tuple<int64_t, int64_t, int64_t>{1, 512, 2},
                            {32, 512, 2},
                            {3, 7, 5},
                            {1, 2048, 1000},
                            {4, 37, 65},
                            {5, 37, 65},
                            {70, 300, 130}}) {
    INFO("N=" << N << " in=" << in << " out=" << out);
    auto x = to_double(to_float(random_doubles(N * in, rng))), w = to_double(to_float(random_doubles(out * in, rng)));
    auto b = to_double(to_float(random_doubles(out, rng))), dy = to_double(to_float(random_doubles(N * out, rng)));
    std::vector<double> y(N * out), dx(N * in), dw(out * in), db(out);
    ref::linear_forward(N, in, out, x.data(), w.data(), b.data(), y.data());
    ref::linear_backward_input(N, in, out, dy.data(), w.data(), dx.data());
    ref::linear_backward_weight(N, in, out, x.data(), dy.data(), dw.data());
    ref::linear_backward_bias(N, out, dy.data(), db.data());
    auto xf = to_float(x), wf = to_float(w), bf = to_float(b), dyf = to_float(dy);
    // Outputs start as NaN: an element a kernel fails to write (or adds to) cannot pass.
    std::vector<float> yf(N * out, NAN), dxf(N * in, NAN), dwf(out * in, NAN), dbf(out, NAN);
    cpu::linear_forward(N, in, out, xf.data(), wf.data(), bf.data(), yf.data());
    cpu::linear_backward_input(N, in, out, dyf.data(), wf.data(), dxf.data());
    cpu::linear_backward_weight(N, in, out, xf.data(), dyf.data(), dwf.data());
    cpu::linear_backward_bias(N, out, dyf.data(), dbf.data());
    CHECK(rel_l2_error(yf, y) < 1e-5);
    CHECK(rel_l2_error(dxf, dx) < 1e-5);
    CHECK(rel_l2_error(dwf, dw) < 1e-5);
    CHECK(rel_l2_error(dbf, db) < 1e-5);
  }
}

TEST_CASE("linear: fast CPU forward does not depend on the thread count", "[ops][linear]") {
  // Batch 1-4 (one dot product per output) and larger (the GEMM) alike.
  Rng rng(43);
  for (const int64_t N : {1, 4, 9}) {
    const int64_t in = 300, out = 130;
    const auto x = to_float(random_doubles(N * in, rng)), w = to_float(random_doubles(out * in, rng));
    const auto b = to_float(random_doubles(out, rng));
    auto run = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> y(N * out, NAN);
      cpu::linear_forward(N, in, out, x.data(), w.data(), b.data(), y.data());
      set_num_threads(0);
      return y;
    };
    CHECK(run(1) == run(2));
    CHECK(run(1) == run(3));
  }
}

TEST_CASE("linear: reference backward matches finite differences (double)", "[ops][linear][gradcheck]") {
  // L linear in each argument: rounding only, 1e-6 relative with floor 1e-2 (see test_conv2d).
  Rng rng(41);
  const int64_t N = 3, in = 4, out = 2;
  auto x = random_doubles(N * in, rng), w = random_doubles(out * in, rng), b = random_doubles(out, rng);
  auto r = random_doubles(N * out, rng);
  auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv, const std::vector<double>& bv) {
    std::vector<double> y(N * out);
    ref::linear_forward(N, in, out, xv.data(), wv.data(), bv.data(), y.data());
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
    return l;
  };
  std::vector<double> dx(N * in), dw(out * in), db(out);
  ref::linear_backward_input(N, in, out, r.data(), w.data(), dx.data());
  ref::linear_backward_weight(N, in, out, x.data(), r.data(), dw.data());
  ref::linear_backward_bias(N, out, r.data(), db.data());
  CHECK(max_rel_error(dx, numeric_gradient([&](const std::vector<double>& v) { return loss(v, w, b); }, x), 1e-2) <
        1e-6);
  CHECK(max_rel_error(dw, numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, b); }, w), 1e-2) <
        1e-6);
  CHECK(max_rel_error(db, numeric_gradient([&](const std::vector<double>& v) { return loss(x, w, v); }, b), 1e-2) <
        1e-6);
}

TEST_CASE("linear: autograd wiring equals the reference backward", "[ops][linear][autograd]") {
  Rng rng(42);
  Tensor x = Tensor::randn({5, 6}, rng), w = Tensor::randn({3, 6}, rng), b = Tensor::randn({3}, rng);
  Tensor gy = Tensor::randn({5, 3}, rng);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  linear(x, w, b).backward(gy);
  std::vector<float> dx(30), dw(18), db(3);
  ref::linear_backward_input<float>(5, 6, 3, gy.data(), w.data(), dx.data());
  ref::linear_backward_weight<float>(5, 6, 3, x.data(), gy.data(), dw.data());
  ref::linear_backward_bias<float>(5, 3, gy.data(), db.data());
  CHECK(rel_l2_error(x.grad().to_vector(), dx) < 1e-5);
  CHECK(rel_l2_error(w.grad().to_vector(), dw) < 1e-5);
  CHECK(rel_l2_error(b.grad().to_vector(), db) < 1e-5);
  REQUIRE_THROWS_WITH(linear(x, Tensor::zeros({3, 5}), Tensor()),
                      Catch::Contains("(3, 5)") && Catch::Contains("(5, 6)"));
}
