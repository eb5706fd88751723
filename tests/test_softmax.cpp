// log_softmax, softmax, cross_entropy, argmax: fast vs reference, finite
// differences in double, stability, autograd wiring, label errors.
#include "engine/check.h"
#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/softmax.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
// cpu::cross_entropy_* take their scalars by pointer (the signature every backend shares,
// engine/kernel_contract.h); these spell the values for the checks below.
const float kOne = 1.f;
float cpu_cross_entropy(int64_t N, int64_t K, const float* x, const int64_t* labels) {
  float loss = NAN;
  cpu::cross_entropy_forward(N, K, x, labels, &loss);
  return loss;
}
}  // namespace

TEST_CASE("softmax family: fast CPU equals reference", "[ops][softmax][cross_entropy]") {
  // The fast path evaluates exp, max and the row sums in vector lanes (Eigen), the
  // reference with scalar std::exp in row order: both are judged against the
  // reference run in double on the same float inputs. Each output is an exp
  // (~2 ulp) divided by, or offset by the log of, a float sum of K <= 1000 positive
  // terms (rounding ~eps * sqrt(K) typical, 6e-8 * 32 = 2e-6): bound 1e-5 (rel. L2).
  // A wrong max, a missing division or a wrong label offset is off by > 1e-1.
  Rng rng(50);
  for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {1, 2}, {32, 2}, {100, 1000}, {3, 7}, {5, 17}, {130, 33}}) {
    auto xd = random_doubles(N * K, rng, -5, 5), dyd = random_doubles(N * K, rng);
    auto x = to_float(xd), dy = to_float(dyd);
    xd = to_double(x), dyd = to_double(dy);
    std::vector<double> e(N * K), ge(N * K);
    std::vector<float> a(N * K, NAN), b(N * K, NAN), ga(N * K, NAN), gb(N * K, NAN);
    auto check_both = [&](const std::vector<double>& want) {
      CHECK(rel_l2_error(a, want) < 1e-5);
      CHECK(rel_l2_error(b, want) < 1e-5);
    };
    ref::log_softmax_forward(N, K, xd.data(), e.data());
    ref::log_softmax_forward(N, K, x.data(), a.data());
    cpu::log_softmax_forward(N, K, x.data(), b.data());
    check_both(e);
    // Backward from the same float y on all sides, so only the backward is judged.
    ref::log_softmax_backward(N, K, to_double(a).data(), dyd.data(), ge.data());
    ref::log_softmax_backward(N, K, a.data(), dy.data(), ga.data());
    cpu::log_softmax_backward(N, K, a.data(), dy.data(), gb.data());
    CHECK(rel_l2_error(ga, ge) < 1e-5);
    CHECK(rel_l2_error(gb, ge) < 1e-5);
    ref::softmax_forward(N, K, xd.data(), e.data());
    ref::softmax_forward(N, K, x.data(), a.data());
    cpu::softmax_forward(N, K, x.data(), b.data());
    check_both(e);
    ref::softmax_backward(N, K, to_double(a).data(), dyd.data(), ge.data());
    ref::softmax_backward(N, K, a.data(), dy.data(), ga.data());
    cpu::softmax_backward(N, K, a.data(), dy.data(), gb.data());
    CHECK(rel_l2_error(ga, ge) < 1e-5);
    CHECK(rel_l2_error(gb, ge) < 1e-5);
    std::vector<int64_t> labels(N), ia(N), ib(N);
    for (auto& l : labels) l = rng.randint(0, K - 1);
    // The loss is a sum over rows in double: within float rounding of each row's loss.
    const double loss = ref::cross_entropy_forward<double>(N, K, xd.data(), labels.data());
    CHECK(cpu_cross_entropy(N, K, x.data(), labels.data()) == Approx(loss).epsilon(1e-5));
    CHECK(ref::cross_entropy_forward<float>(N, K, x.data(), labels.data()) == Approx(loss).epsilon(1e-5));
    ref::cross_entropy_backward(N, K, xd.data(), labels.data(), 0.7, ge.data());
    ref::cross_entropy_backward(N, K, x.data(), labels.data(), 0.7f, ga.data());
    const float g07 = 0.7f;
    cpu::cross_entropy_backward(N, K, x.data(), labels.data(), &g07, gb.data());
    CHECK(rel_l2_error(ga, ge) < 1e-5);
    CHECK(rel_l2_error(gb, ge) < 1e-5);
    ref::argmax(N, K, x.data(), ia.data());
    cpu::argmax(N, K, x.data(), ib.data());
    CHECK(ia == ib);  // no arithmetic: exact
  }
}

TEST_CASE("softmax family: fast CPU results do not depend on the thread count, NaN propagates",
          "[ops][softmax][cross_entropy]") {
  Rng rng(54);
  const int64_t N = 200, K = 1000;  // 4 tasks of 64 rows
  auto x = to_float(random_doubles(N * K, rng, -5, 5)), dy = to_float(random_doubles(N * K, rng));
  std::vector<int64_t> labels(N);
  for (auto& l : labels) l = rng.randint(0, K - 1);
  // The same output buffers in both runs: a row's sum of exponentials (Eigen's vector sum)
  // starts at the row's first 64-byte boundary, so its rounding depends on where the
  // output lies in memory; only the thread count may change between the runs.
  std::vector<float> ls(N * K), gl(N * K), sm(N * K), gs(N * K), gx(N * K);
  auto run = [&](int threads) {
    set_num_threads(threads);
    cpu::log_softmax_forward(N, K, x.data(), ls.data());
    cpu::log_softmax_backward(N, K, ls.data(), dy.data(), gl.data());
    cpu::softmax_forward(N, K, x.data(), sm.data());
    cpu::softmax_backward(N, K, sm.data(), dy.data(), gs.data());
    cpu::cross_entropy_backward(N, K, x.data(), labels.data(), &kOne, gx.data());
    const float loss = cpu_cross_entropy(N, K, x.data(), labels.data());
    set_num_threads(0);
    return std::make_pair(loss, std::vector<std::vector<float>>{ls, gl, sm, gs, gx});
  };
  CHECK(run(1) == run(2));
  // A NaN logit makes its row's loss, softmax and gradient NaN (as the reference), wherever it is.
  for (int64_t j : {int64_t(0), int64_t(17), K - 1}) {
    auto xn = x;
    xn[K + j] = NAN;
    std::vector<float> sm(N * K), gx(N * K);
    CHECK(std::isnan(cpu_cross_entropy(N, K, xn.data(), labels.data())));
    cpu::softmax_forward(N, K, xn.data(), sm.data());
    cpu::cross_entropy_backward(N, K, xn.data(), labels.data(), &kOne, gx.data());
    for (int64_t k = 0; k < K; ++k) {
      CHECK(std::isnan(sm[K + k]));
      CHECK(std::isnan(gx[K + k]));
    }
    CHECK(std::isfinite(sm[0]));
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
  CHECK(max_rel_error(g,
                      numeric_gradient(
                          [&](const std::vector<double>& v) {
                            std::vector<double> o(N * K);
                            ref::log_softmax_forward(N, K, v.data(), o.data());
                            return dot(o);
                          },
                          x),
                      1e-2) < 1e-6);
  ref::softmax_forward(N, K, x.data(), y.data());
  ref::softmax_backward(N, K, y.data(), r.data(), g.data());
  CHECK(max_rel_error(g,
                      numeric_gradient(
                          [&](const std::vector<double>& v) {
                            std::vector<double> o(N * K);
                            ref::softmax_forward(N, K, v.data(), o.data());
                            return dot(o);
                          },
                          x),
                      1e-2) < 1e-6);
  const std::vector<int64_t> labels = {2, 0, 3};
  ref::cross_entropy_backward(N, K, x.data(), labels.data(), 1.0, g.data());
  CHECK(max_rel_error(
            g,
            numeric_gradient(
                [&](const std::vector<double>& v) { return ref::cross_entropy_forward(N, K, v.data(), labels.data()); },
                x),
            1e-2) < 1e-6);
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
  CHECK(rel_l2_error(x.grad().to_vector(), g) < 1e-5);  // the fast path's vector exp: a few ulp

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
  CHECK(rel_l2_error(x.grad().to_vector(), g) < 1e-5);  // the fast path's vector exp: a few ulp
  x.zero_grad();
  softmax(x).backward(gy);
  ref::softmax_forward<float>(3, 5, x.data(), y.data());
  ref::softmax_backward<float>(3, 5, y.data(), gy.data(), g.data());
  CHECK(rel_l2_error(x.grad().to_vector(), g) < 1e-5);
}

TEST_CASE("argmax: first maximum wins ties", "[ops][argmax]") {
  Tensor x = Tensor::from_vector({1, 3, 3, 0, -2, -1, -1, -3}, {2, 4});
  CHECK(argmax(x) == std::vector<int64_t>{1, 1});
  REQUIRE_THROWS_AS(argmax(Tensor::zeros({4})), Error);
}
