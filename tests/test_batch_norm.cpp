// batch_norm: fast CPU vs reference (train and eval), running statistics,
// finite-difference gradients in double, autograd wiring.
#include "engine/cpu/batch_norm.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
const std::vector<BatchNormShape> kShapes = {{2, 3, 25}, {1, 4, 49}, {8, 16, 196}, {3, 5, 1}, {4, 64, 3136}};
std::string describe(const BatchNormShape& s) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " HW=" + std::to_string(s.HW);
}
}  // namespace

TEST_CASE("batch_norm: fast CPU equals reference, train and eval, forward and backward", "[ops][batchnorm]") {
  // Fast float vs reference in double on the same float inputs. Sums run in a
  // different order (vector lanes), each value carries a few float roundings:
  // 1e-5 relative L2 (1e-6 for the per-channel statistics) is ~10x that.
  Rng rng(20);
  for (const auto& s : kShapes) {
    for (bool training : {true, false}) {
      INFO(describe(s) << (training ? " train" : " eval"));
      const int64_t n = s.N * s.C * s.HW;
      auto x = to_double(to_float(random_doubles(n, rng, -2, 3))), dy = to_double(to_float(random_doubles(n, rng)));
      auto w = to_double(to_float(random_doubles(s.C, rng, 0.5, 1.5))),
           b = to_double(to_float(random_doubles(s.C, rng)));
      auto rm = to_double(to_float(random_doubles(s.C, rng))),
           rv = to_double(to_float(random_doubles(s.C, rng, 0.5, 2)));
      auto xf = to_float(x), dyf = to_float(dy), wf = to_float(w), bf = to_float(b), rmf = to_float(rm),
           rvf = to_float(rv);

      std::vector<double> y(n), mean(s.C), invstd(s.C), dx(n), dw(s.C), db(s.C);
      ref::batch_norm_forward(s, x.data(), w.data(), b.data(), rm.data(), rv.data(), training, 0.1, 1e-5, y.data(),
                              mean.data(), invstd.data());
      ref::batch_norm_backward(s, x.data(), dy.data(), mean.data(), invstd.data(), w.data(), training, 1e-5, dx.data(),
                               dw.data(), db.data());
      // Outputs start as NaN: an element a kernel fails to write (or adds to) cannot pass.
      std::vector<float> yf(n, NAN), meanf(s.C, NAN), invstdf(s.C, NAN), dxf(n, NAN), dwf(s.C, NAN), dbf(s.C, NAN);
      cpu::batch_norm_forward(s, xf.data(), wf.data(), bf.data(), rmf.data(), rvf.data(), training, 0.1f, 1e-5f,
                              yf.data(), meanf.data(), invstdf.data());
      cpu::batch_norm_backward(s, xf.data(), dyf.data(), meanf.data(), invstdf.data(), wf.data(), training, 1e-5f,
                               dxf.data(), dwf.data(), dbf.data());
      CHECK(rel_l2_error(yf, y) < 1e-5);
      CHECK(rel_l2_error(meanf, mean) < 1e-6);
      CHECK(rel_l2_error(invstdf, invstd) < 1e-6);
      CHECK(rel_l2_error(rmf, rm) < 1e-6);
      CHECK(rel_l2_error(rvf, rv) < 1e-6);
      CHECK(rel_l2_error(dxf, dx) < 1e-5);
      CHECK(rel_l2_error(dwf, dw) < 1e-5);
      CHECK(rel_l2_error(dbf, db) < 1e-5);
    }
  }
}

TEST_CASE("batch_norm: fast results do not depend on the thread count", "[ops][batchnorm]") {
  Rng rng(21);
  const BatchNormShape s{4, 8, 100};
  auto x = to_float(random_doubles(s.N * s.C * s.HW, rng)), dy = to_float(random_doubles(s.N * s.C * s.HW, rng));
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> rm(s.C, 0.f), rv(s.C, 1.f), y(x.size()), mean(s.C), invstd(s.C), dx(x.size()), dw(s.C), db(s.C);
    cpu::batch_norm_forward(s, x.data(), nullptr, nullptr, rm.data(), rv.data(), true, 0.1f, 1e-5f, y.data(),
                            mean.data(), invstd.data());
    cpu::batch_norm_backward(s, x.data(), dy.data(), mean.data(), invstd.data(), nullptr, true, 1e-5f, dx.data(),
                             dw.data(), db.data());
    set_num_threads(0);
    return std::vector<std::vector<float>>{y, rm, rv, dx, dw, db};
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("batch_norm: running statistics use momentum and the unbiased variance", "[ops][batchnorm]") {
  // One channel, values 1..4: mean 2.5, biased var 1.25, unbiased 5/3.
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 1, 1, 2});
  Tensor w = Tensor::ones({1}), b = Tensor::zeros({1}), rm = Tensor::zeros({1}), rv = Tensor::ones({1});
  Tensor y = batch_norm(x, w, b, rm, rv, true, 0.1f, 1e-5f);
  CHECK(rm.item() == Approx(0.25).epsilon(1e-6));
  CHECK(rv.item() == Approx(0.9 + 0.1 * 5.0 / 3.0).epsilon(1e-6));
  CHECK(y.to_vector()[0] == Approx(-1.5 / std::sqrt(1.25 + 1e-5)).epsilon(1e-6));  // batch stats, biased var
  Tensor ye = batch_norm(x, w, b, rm, rv, false, 0.1f, 1e-5f);                     // eval: running stats, no update
  CHECK(rm.item() == Approx(0.25).epsilon(1e-6));
  CHECK(ye.to_vector()[0] == Approx((1 - 0.25) / std::sqrt(0.9 + 0.1 * 5.0 / 3.0 + 1e-5)).epsilon(1e-6));
}

TEST_CASE("batch_norm: reference backward matches finite differences (double)", "[ops][batchnorm][gradcheck]") {
  // L = sum(y * r) is smooth (not linear) in x: truncation O(h^2) ~1e-12 plus
  // rounding ~1e-9 absolute; relative 1e-6 with floor 1e-2 (see test_conv2d).
  Rng rng(22);
  const BatchNormShape s{3, 2, 5};
  const int64_t n = s.N * s.C * s.HW;
  for (bool training : {true, false}) {
    INFO((training ? "train" : "eval"));
    auto x = random_doubles(n, rng, -2, 2), r = random_doubles(n, rng);
    auto w = random_doubles(s.C, rng, 0.5, 1.5), b = random_doubles(s.C, rng);
    const std::vector<double> rm0 = random_doubles(s.C, rng), rv0 = random_doubles(s.C, rng, 0.5, 2);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv, const std::vector<double>& bv) {
      std::vector<double> y(n), mean(s.C), invstd(s.C), rm = rm0, rv = rv0;
      ref::batch_norm_forward(s, xv.data(), wv.data(), bv.data(), rm.data(), rv.data(), training, 0.1, 1e-5, y.data(),
                              mean.data(), invstd.data());
      double l = 0;
      for (int64_t i = 0; i < n; ++i) l += y[i] * r[i];
      return l;
    };
    std::vector<double> y(n), mean(s.C), invstd(s.C), rm = rm0, rv = rv0, dx(n), dw(s.C), db(s.C);
    ref::batch_norm_forward(s, x.data(), w.data(), b.data(), rm.data(), rv.data(), training, 0.1, 1e-5, y.data(),
                            mean.data(), invstd.data());
    ref::batch_norm_backward(s, x.data(), r.data(), mean.data(), invstd.data(), w.data(), training, 1e-5, dx.data(),
                             dw.data(), db.data());
    CHECK(max_rel_error(dx, numeric_gradient([&](const std::vector<double>& v) { return loss(v, w, b); }, x), 1e-2) <
          1e-6);
    CHECK(max_rel_error(dw, numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, b); }, w), 1e-2) <
          1e-6);
    CHECK(max_rel_error(db, numeric_gradient([&](const std::vector<double>& v) { return loss(x, w, v); }, b), 1e-2) <
          1e-6);
  }
}

TEST_CASE("batch_norm: autograd wiring equals the reference backward", "[ops][batchnorm][autograd]") {
  Rng rng(23);
  const BatchNormShape s{2, 3, 12};
  for (bool training : {true, false}) {
    INFO((training ? "train" : "eval"));
    Tensor x = Tensor::randn({2, 3, 3, 4}, rng), w = Tensor::uniform({3}, rng, 0.5f, 1.5f), b = Tensor::randn({3}, rng);
    Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3}), gy = Tensor::randn(x.shape(), rng);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    Tensor y = batch_norm(x, w, b, rm, rv, training);
    y.backward(gy);
    std::vector<float> rm2(3, 0.f), rv2(3, 1.f), yr(72), mean(3), invstd(3), dx(72), dw(3), db(3);
    ref::batch_norm_forward(s, x.data(), w.data(), b.data(), rm2.data(), rv2.data(), training, 0.1f, 1e-5f, yr.data(),
                            mean.data(), invstd.data());
    ref::batch_norm_backward(s, x.data(), gy.data(), mean.data(), invstd.data(), w.data(), training, 1e-5f, dx.data(),
                             dw.data(), db.data());
    CHECK(rel_l2_error(y.to_vector(), yr) < 1e-5);
    CHECK(rel_l2_error(rm.to_vector(), rm2) < 1e-6);
    CHECK(rel_l2_error(x.grad().to_vector(), dx) < 1e-5);
    CHECK(rel_l2_error(w.grad().to_vector(), dw) < 1e-5);
    CHECK(rel_l2_error(b.grad().to_vector(), db) < 1e-5);
  }
}

TEST_CASE("batch_norm: bad shapes give clear errors", "[ops][batchnorm]") {
  Tensor x = Tensor::zeros({2, 3, 4, 4}), rm = Tensor::zeros({3}), rv = Tensor::ones({3}), bad = Tensor::zeros({4});
  REQUIRE_THROWS_WITH(batch_norm(x, bad, Tensor(), rm, rv, true), Catch::Contains("(4,)") && Catch::Contains("(3)"));
  Tensor one = Tensor::zeros({1, 3, 1, 1});
  REQUIRE_THROWS_WITH(batch_norm(one, Tensor(), Tensor(), rm, rv, true), Catch::Contains("more than one value"));
}
