// relu6: fast CPU vs reference, PyTorch's gradient at the edges 0 and 6, autograd, nn::ReLU6.
#include <cmath>

#include "engine/cpu/elementwise.h"
#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("relu6: fast CPU equals reference, forward and backward", "[ops][relu6]") {
  // A clamp and a select: no arithmetic, so exactly equal, at any thread count. Sizes
  // below, at and above one parallel chunk (16384); values over [-3, 9] cover both clamps.
  Rng rng(190);
  for (int64_t n : {int64_t(1), int64_t(17), int64_t(16384), int64_t(40000)}) {
    auto x = to_float(random_doubles(n, rng, -3, 9)), dy = to_float(random_doubles(n, rng));
    x[0] = 6.f;  // the edges themselves
    if (n > 1) x[1] = 0.f;
    std::vector<float> y_ref(n), dx_ref(n);
    ref::relu6_forward(x.data(), y_ref.data(), n);
    ref::relu6_backward(x.data(), dy.data(), dx_ref.data(), n);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      std::vector<float> y(n, NAN), dx(n, NAN);
      cpu::relu6_forward(x.data(), y.data(), n);
      cpu::relu6_backward(x.data(), dy.data(), dx.data(), n);
      set_num_threads(0);
      CHECK(y == y_ref);
      CHECK(dx == dx_ref);
    }
  }
}

TEST_CASE("relu6: clamps to [0, 6], no gradient at 0 and 6 (PyTorch's hardtanh backward)", "[ops][relu6][autograd]") {
  Tensor x = Tensor::from_vector({-1.f, 0.f, 0.5f, 6.f, 7.f, 5.999f}, {6});
  x.set_requires_grad(true);
  Tensor y = relu6(x);
  CHECK(y.to_vector() == std::vector<float>{0.f, 0.f, 0.5f, 6.f, 6.f, 5.999f});
  y.backward(Tensor::from_vector({1, 2, 3, 4, 5, 6}, {6}));
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 3, 0, 0, 6});
  nn::ReLU6 m;
  CHECK(m.forward(x.detach()).to_vector() == y.to_vector());
  CHECK(m.type_name() == "ReLU6");
}

TEST_CASE("relu6: reference backward matches finite differences (double)", "[ops][relu6][gradcheck]") {
  // Values kept 1e-3 or more away from the kinks 0 and 6 (h = 1e-6 never crosses one):
  // the function is locally linear there and the differences exact up to rounding.
  Rng rng(191);
  auto x = random_doubles(200, rng, -2, 8);
  for (double& v : x)
    if (std::abs(v) < 1e-3 || std::abs(v - 6) < 1e-3) v += 0.01;
  auto r = random_doubles(200, rng);
  auto loss = [&](const std::vector<double>& xv) {
    std::vector<double> y(xv.size());
    ref::relu6_forward(xv.data(), y.data(), int64_t(xv.size()));
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
    return l;
  };
  std::vector<double> dx(200);
  ref::relu6_backward(x.data(), r.data(), dx.data(), 200);
  CHECK(max_rel_error(dx, numeric_gradient(loss, x), 1e-2) < 1e-6);
}

TEST_CASE("parity: relu6 forward and backward equal PyTorch", "[parity][relu6]") {
  // A clamp and a select: exactly equal, the edges 0 and 6 included.
  const Fixture f = load_fixture("op_relu6");
  Tensor x = f.tensor("x");
  x.set_requires_grad(true);
  Tensor y = relu6(x);
  y.backward(f.tensor("gy"));
  CHECK(y.to_vector() == f.data("y"));
  CHECK(x.grad().to_vector() == f.data("gx"));
}
