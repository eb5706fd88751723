// Parity with PyTorch 1.13 from golden files (tools/fixtures/make_fixtures.py):
// conv2d, batch norm (3 training steps with running statistics, then eval),
// cross-entropy, linear and max pooling, forward and backward, through the
// public ops (fast CPU path + autograd).
//
// "Relative error" here is the max-norm relative error of a whole tensor,
//     max_i |ours_i - torch_i| / max_i |torch_i|,
// i.e. every element must be within that fraction of the tensor's largest
// magnitude. Per-element relative error (|a-b|/|b|) is not usable for these
// outputs: sums that cancel to nearly 0 (a conv output, a mean-subtracted
// batch-norm gradient) carry absolute rounding error of the size of their
// terms, so their own relative error is unbounded for any correct float code.
// Both sides compute in float32 with different summation orders, giving
// ~1e-7 here; the acceptance bound is 1e-5.
#include <algorithm>

#include "engine/ops.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
double max_norm_rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(double(a[i]) - double(b[i])));
    den = std::max(den, std::abs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}
constexpr double kTol = 1e-5;

// Compares and prints the measured error (so test logs show the numbers).
void expect_close(const std::string& what, const Tensor& ours, const Fixture& f, const std::string& key,
                  double tol = kTol) {
  INFO(what << " vs " << key);
  REQUIRE(ours.defined());
  REQUIRE(ours.shape() == f.shape(key));
  const double err = max_norm_rel_error(ours.to_vector(), f.data(key));
  UNSCOPED_INFO(what << ": max-norm relative error " << err);
  CHECK(err < tol);
}
Tensor param(const Fixture& f, const std::string& key) {
  Tensor t = f.tensor(key);
  t.set_requires_grad(true);
  return t;
}
}  // namespace

TEST_CASE("parity: conv2d forward and backward equal PyTorch", "[parity][conv]") {
  const Fixture f = load_fixture("op_conv2d");
  struct Config {
    std::string name;
    int stride, pad;
    bool bias;
  };
  for (const Config& c :
       {Config{"s2p1_bias", 2, 1, true}, Config{"1x1", 1, 0, false}, Config{"7x7s2p3_bias", 2, 3, true}}) {
    Tensor x = param(f, c.name + ".x"), w = param(f, c.name + ".w");
    Tensor b = c.bias ? param(f, c.name + ".b") : Tensor();
    Tensor y = conv2d(x, w, b, {c.stride, c.pad});
    y.backward(f.tensor(c.name + ".gy"));
    expect_close(c.name + " y", y, f, c.name + ".y");
    expect_close(c.name + " dx", x.grad(), f, c.name + ".gx");
    expect_close(c.name + " dw", w.grad(), f, c.name + ".gw");
    if (c.bias) expect_close(c.name + " db", b.grad(), f, c.name + ".gb");
  }
}

TEST_CASE("parity: batch norm, 3 training steps then eval, equals PyTorch", "[parity][batchnorm]") {
  const Fixture f = load_fixture("op_batchnorm");
  Tensor w = param(f, "weight"), b = param(f, "bias");
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  for (int step = 0; step < 3; ++step) {
    const std::string p = "train" + std::to_string(step) + ".";
    w.zero_grad();
    b.zero_grad();
    Tensor x = param(f, p + "x");
    Tensor y = batch_norm(x, w, b, rm, rv, true, 0.1f, 1e-5f);
    y.backward(f.tensor(p + "gy"));
    expect_close(p + "y", y, f, p + "y");
    expect_close(p + "dx", x.grad(), f, p + "gx");
    expect_close(p + "dweight", w.grad(), f, p + "gweight");
    expect_close(p + "dbias", b.grad(), f, p + "gbias");
    // Running statistics after each step: a momentum blend, float rounding only.
    expect_close(p + "running_mean", rm, f, p + "running_mean", 1e-6);
    expect_close(p + "running_var", rv, f, p + "running_var", 1e-6);
  }
  w.zero_grad();
  b.zero_grad();
  Tensor x = param(f, "eval.x");
  Tensor y = batch_norm(x, w, b, rm, rv, false, 0.1f, 1e-5f);
  y.backward(f.tensor("eval.gy"));
  expect_close("eval y", y, f, "eval.y");
  expect_close("eval dx", x.grad(), f, "eval.gx");
  expect_close("eval dweight", w.grad(), f, "eval.gweight");
  expect_close("eval dbias", b.grad(), f, "eval.gbias");
  expect_close("running_mean unchanged by eval", rm, f, "train2.running_mean", 1e-6);
}

TEST_CASE("parity: cross-entropy loss and gradient equal PyTorch", "[parity][cross_entropy]") {
  const Fixture f = load_fixture("op_cross_entropy");
  Tensor logits = param(f, "logits");
  Tensor loss = cross_entropy(logits, f.ints("labels"));
  CHECK(loss.item() == Approx(f.number("loss")).epsilon(1e-6));
  loss.backward();
  expect_close("grad", logits.grad(), f, "grad");
  expect_close("log_softmax", log_softmax(logits.detach()), f, "log_softmax");
}

TEST_CASE("parity: linear forward and backward equal PyTorch", "[parity][linear]") {
  const Fixture f = load_fixture("op_linear");
  Tensor x = param(f, "x"), w = param(f, "w"), b = param(f, "b");
  Tensor y = linear(x, w, b);
  y.backward(f.tensor("gy"));
  expect_close("y", y, f, "y");
  expect_close("dx", x.grad(), f, "gx");
  expect_close("dw", w.grad(), f, "gw");
  expect_close("db", b.grad(), f, "gb");
}

TEST_CASE("parity: max pooling forward and backward equal PyTorch", "[parity][maxpool]") {
  const Fixture f = load_fixture("op_maxpool");
  Tensor x = param(f, "x");
  Tensor y = max_pool2d(x, 3, 2, 1);
  y.backward(f.tensor("gy"));
  // Max pooling only selects and routes values: exactly equal.
  CHECK(y.to_vector() == f.data("y"));
  CHECK(x.grad().to_vector() == f.data("gx"));
}
