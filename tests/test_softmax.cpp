// log_softmax, softmax, cross_entropy, argmax: fast vs reference, finite
// differences in double, stability, autograd wiring, label errors.
#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/softmax.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("softmax family: fast CPU equals reference", "[ops][softmax]") {
  // Same per-row code: float fast vs float reference are bitwise equal.
  Rng rng(50);
  for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 2}, {32, 2}, {100, 1000}, {3, 7}}) {
    auto x = to_float(random_doubles(N * K, rng, -5, 5)), dy = to_float(random_doubles(N * K, rng));
    std::vector<float> a(N * K), b(N * K), ga(N * K), gb(N * K);
    ref::log_softmax_forward(N, K, x.data(), a.data());
    cpu::log_softmax_forward(N, K, x.data(), b.data());
    CHECK(a == b);
    ref::log_softmax_backward(N, K, a.data(), dy.data(), ga.data());
    cpu::log_softmax_backward(N, K, a.data(), dy.data(), gb.data());
    CHECK(ga == gb);
    ref::softmax_forward(N, K, x.data(), a.data());
    cpu::softmax_forward(N, K, x.data(), b.data());
    CHECK(a == b);
    ref::softmax_backward(N, K, a.data(), dy.data(), ga.data());
    cpu::softmax_backward(N, K, a.data(), dy.data(), gb.data());
    CHECK(ga == gb);
    std::vector<int64_t> labels(N), ia(N), ib(N);
    for (auto& l : labels) l = rng.randint(0, K - 1);
    // The loss is a sum over rows in double either way: within float rounding.
    CHECK(cpu::cross_entropy_forward(N, K, x.data(), labels.data()) ==
          Approx(ref::cross_entropy_forward<float>(N, K, x.data(), labels.data())).epsilon(1e-6));
    ref::cross_entropy_backward(N, K, x.data(), labels.data(), 0.7f, ga.data());
    cpu::cross_entropy_backward(N, K, x.data(), labels.data(), 0.7f, gb.data());
    CHECK(ga == gb);
    ref::argmax(N, K, x.data(), ia.data());
    cpu::argmax(N, K, x.data(), ib.data());
    CHECK(ia == ib);
  }
}

TEST_CASE("softmax family: backward matches finite differences (double)", "[ops][softmax][cross_entropy][gradcheck]") {
  // Smooth functions: O(h^2) truncation + ~1e-10 rounding: 1e-6 relative, floor 1e-2 (see test_conv2d).
  Rng rng(51);
  const int64_t N = 3, K = 4;
  auto x = random_doubles(N * K, rng, -3, 3), r = random_doubles(N * K, rng);
  auto dot = [&](const std::vector<double>& y) {
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
    return l;
  };
  std::vector<double> y(N * K), g(N * K);
  ref::log_softmax_forward(N, K, x.data(), y.data());
  ref::log_softmax_backward(N, K, y.data(), r.data(), g.data());
  CHECK(max_rel_error(g, numeric_gradient([&](const std::vector<double>& v) {
                        std::vector<double> o(N * K);
                        ref::log_softmax_forward(N, K, v.data(), o.data());
                        return dot(o);
                      }, x), 1e-2) < 1e-6);
  ref::softmax_forward(N, K, x.data(), y.data());
  ref::softmax_backward(N, K, y.data(), r.data(), g.data());
  CHECK(max_rel_error(g, numeric_gradient([&](const std::vector<double>& v) {
                        std::vector<double> o(N * K);
                        ref::softmax_forward(N, K, v.data(), o.data());
                        return dot(o);
                      }, x), 1e-2) < 1e-6);
  const std::vector<int64_t> labels = {2, 0, 3};
  ref::cross_entropy_backward(N, K, x.data(), labels.data(), 1.0, g.data());
  CHECK(max_rel_error(g, numeric_gradient([&](const std::vector<double>& v) {
                        return ref::cross_entropy_forward(N, K, v.data(), labels.data());
                      }, x), 1e-2) < 1e-6);
}

TEST_CASE("cross_entropy: stable for huge logits, equals log_softmax form", "[ops][cross_entropy]") {
  Tensor logits = Tensor::from_vector({1000.f, 0.f, -1000.f, 50.f, 51.f, 49.f}, {2, 3});
  const float loss = cross_entropy(logits, {0, 2}).item();
  // Row 0: lse = 1000 -> loss 0. Row 1: 51 + log(e^-1 + 1 + e^-2) - 49.
  const double row1 = 51 + std::log(std::exp(-1.0) + 1 + std::exp(-2.0)) - 49;
  CHECK(std::isfinite(loss));
  CHECK(loss == Approx(row1 / 2).epsilon(1e-6));
  auto ls = log_softmax(logits).to_vector();
  CHECK(-(ls[0] + ls[5]) / 2 == Approx(loss).epsilon(1e-6));
}

TEST_CASE("cross_entropy: autograd wiring and label errors", "[ops][cross_entropy][autograd]") {
  Rng rng(52);
  Tensor x = Tensor::randn({4, 3}, rng);
  x.set_requires_grad(true);
  const std::vector<int64_t> labels = {0, 2, 1, 1};
  Tensor loss = cross_entropy(x, labels);
  REQUIRE(loss.numel() == 1);
  CHECK(loss.item() == Approx(ref::cross_entropy_forward<float>(4, 3, x.data(), labels.data())).epsilon(1e-6));
  loss.backward();
  std::vector<float> g(12);
  ref::cross_entropy_backward<float>(4, 3, x.data(), labels.data(), 1.f, g.data());
  CHECK(rel_l2_error(x.grad().to_vector(), g) < 1e-6);

  REQUIRE_THROWS_WITH(cross_entropy(x, {0, 3, 1, 1}), Catch::Contains("label 3") && Catch::Contains("index 1"));
  REQUIRE_THROWS_WITH(cross_entropy(x, {0, -1, 1, 1}), Catch::Contains("label -1"));
  REQUIRE_THROWS_WITH(cross_entropy(x, {0, 1}), Catch::Contains("2 labels"));
}

TEST_CASE("log_softmax/softmax: autograd wiring equals the reference backward", "[ops][softmax][autograd]") {
  Rng rng(53);
  Tensor x = Tensor::randn({3, 5}, rng), gy = Tensor::randn({3, 5}, rng);
  x.set_requires_grad(true);
  log_softmax(x).backward(gy);
  std::vector<float> y(15), g(15);
  ref::log_softmax_forward<float>(3, 5, x.data(), y.data());
  ref::log_softmax_backward<float>(3, 5, y.data(), gy.data(), g.data());
  CHECK(x.grad().to_vector() == g);
  x.zero_grad();
  softmax(x).backward(gy);
  ref::softmax_forward<float>(3, 5, x.data(), y.data());
  ref::softmax_backward<float>(3, 5, y.data(), gy.data(), g.data());
  CHECK(x.grad().to_vector() == g);
}

TEST_CASE("argmax: first maximum wins ties", "[ops][argmax]") {
  Tensor x = Tensor::from_vector({1, 3, 3, 0, -2, -1, -1, -3}, {2, 4});
  CHECK(argmax(x) == std::vector<int64_t>{1, 1});
  REQUIRE_THROWS_AS(argmax(Tensor::zeros({4})), Error);
}
