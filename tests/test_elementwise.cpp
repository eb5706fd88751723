// relu, add, scale: fast CPU path vs reference, and gradients by finite differences in double.
#include "engine/cpu/elementwise.h"
#include "engine/ops.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("relu: fast CPU equals reference, forward and backward", "[ops][relu]") {
  Rng rng(1);
  for (int64_t n : {1, 7, 1000, 100003}) {
    auto x = to_float(random_doubles(n, rng)), dy = to_float(random_doubles(n, rng));
    std::vector<float> y_ref(n), y_fast(n), dx_ref(n), dx_fast(n);
    ref::relu_forward(x.data(), y_ref.data(), n);
    cpu::relu_forward(x.data(), y_fast.data(), n);
    ref::relu_backward(x.data(), dy.data(), dx_ref.data(), n);
    cpu::relu_backward(x.data(), dy.data(), dx_fast.data(), n);
    CHECK(y_fast == y_ref);  // exact: no arithmetic differs
    CHECK(dx_fast == dx_ref);
  }
}

TEST_CASE("relu: backward matches finite differences (double)", "[ops][relu][gradcheck]") {
  Rng rng(2);
  const int64_t n = 50;
  auto x = random_doubles(n, rng), r = random_doubles(n, rng);
  for (auto& v : x)
    if (std::abs(v) < 1e-3) v = 0.5;  // keep away from the kink, where relu has no derivative
  auto loss = [&](const std::vector<double>& xv) {
    std::vector<double> y(n);
    ref::relu_forward(xv.data(), y.data(), n);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += y[i] * r[i];
    return s;
  };
  std::vector<double> analytic(n);
  ref::relu_backward(x.data(), r.data(), analytic.data(), n);
  CHECK(max_rel_error(analytic, numeric_gradient(loss, x)) < 1e-7);
}

TEST_CASE("relu/add/scale: autograd wiring equals the reference kernels", "[ops][autograd]") {
  Rng rng(3);
  Tensor a = Tensor::randn({4, 5}, rng), b = Tensor::randn({4, 5}, rng);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor gy = Tensor::randn({4, 5}, rng);
  Tensor y = scale(relu(add(a, b)), 2.f);
  y.backward(gy);
  auto av = a.to_vector(), bv = b.to_vector(), g = gy.to_vector();
  for (size_t i = 0; i < av.size(); ++i) {
    const float expect = (av[i] + bv[i] > 0 ? 2.f * g[i] : 0.f);
    CHECK(a.grad().to_vector()[i] == expect);
    CHECK(b.grad().to_vector()[i] == expect);
  }
}
