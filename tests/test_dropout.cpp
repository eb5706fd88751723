// dropout: identity outside training, the statistics of the mask, determinism (seed, thread
// count), the backward with the same mask, nn::Dropout. PyTorch's masks come from another
// generator and cannot be matched: there is no golden file, only these properties.
#include <cmath>

#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("dropout: identity when not training or p == 0", "[ops][dropout]") {
  Rng rng(200);
  Tensor x = Tensor::randn({4, 10}, rng);
  const Rng::State before = rng.state();
  CHECK(dropout(x, 0.5f, false, rng).same(x));
  CHECK(dropout(x, 0.f, true, rng).same(x));
  CHECK(rng.state() == before);  // nothing drawn
}

TEST_CASE("dropout: keeps 1-p of the elements, scaled by 1/(1-p)", "[ops][dropout]") {
  Rng rng(201);
  const int64_t n = 200000;
  Tensor x = Tensor::uniform({n}, rng, 0.5f, 1.5f);
  const std::vector<float> xv = x.to_vector();
  for (float p : {0.2f, 0.5f, 0.9f}) {
    INFO("p " << p);
    const std::vector<float> y = dropout(x, p, true, rng).to_vector();
    const float scale = static_cast<float>(1.0 / (1.0 - double(p)));
    int64_t kept = 0;
    bool all_match = true;
    for (int64_t i = 0; i < n; ++i) {
      if (y[size_t(i)] == 0.f) continue;  // x > 0: a zero is a dropped element
      ++kept;
      all_match = all_match && y[size_t(i)] == xv[size_t(i)] * scale;
    }
    CHECK(all_match);
    // The kept count is Binomial(n, 1-p): standard deviation sqrt(n p (1-p)) <= 224;
    // 6 standard deviations fail by chance with probability 2e-9.
    const double expected = double(n) * (1.0 - double(p)), sd = std::sqrt(double(n) * double(p) * (1.0 - double(p)));
    CHECK(std::abs(double(kept) - expected) < 6 * sd);
  }
  Tensor zeros = dropout(x, 1.f, true, rng);
  CHECK(zeros.to_vector() == std::vector<float>(size_t(n), 0.f));
}

TEST_CASE("dropout: the same seed gives the same mask, whatever the thread count", "[ops][dropout]") {
  Rng data(202);
  Tensor x = Tensor::randn({3, 50000}, data);
  auto run = [&](int threads, uint64_t seed) {
    set_num_threads(threads);
    Rng rng(seed);
    std::vector<float> y = dropout(x, 0.3f, true, rng).to_vector();
    set_num_threads(0);
    return y;
  };
  const auto y = run(1, 7);
  CHECK(y == run(2, 7));
  CHECK(y != run(1, 8));
}

TEST_CASE("dropout: backward multiplies by the same mask and scale", "[ops][dropout][autograd]") {
  Rng rng(203);
  Tensor x = Tensor::uniform({5, 40}, rng, 1.f, 2.f), gy = Tensor::randn({5, 40}, rng);
  x.set_requires_grad(true);
  Tensor y = dropout(x, 0.4f, true, rng);
  y.backward(gy);
  const auto yv = y.to_vector(), xv = x.detach().to_vector(), g = x.grad().to_vector(), gyv = gy.to_vector();
  bool match = true;
  for (size_t i = 0; i < yv.size(); ++i) {
    const float m = yv[i] == 0.f ? 0.f : yv[i] / xv[i];  // the mask value this element got (x > 0)
    // y = x * m and gx = gy * m with the same m: the ratio is exact up to one division's rounding.
    match = match && std::abs(g[i] - gyv[i] * m) <= 1e-6f * std::abs(gyv[i] * m);
  }
  CHECK(match);
  REQUIRE_THROWS_WITH(dropout(x, 1.5f, true, rng), Catch::Contains("p must lie in [0, 1]"));
  REQUIRE_THROWS_WITH(dropout(x, -0.1f, true, rng), Catch::Contains("p must lie in [0, 1]"));
}

TEST_CASE("dropout: nn::Dropout draws a new mask per step in training, none in eval", "[ops][dropout]") {
  Rng rng(204);
  Tensor x = Tensor::uniform({1000}, rng, 1.f, 2.f);
  nn::Dropout a(0.2f, 11), b(0.2f, 11);
  CHECK(a.extra_repr() == "p=0.2, inplace=False");
  const auto first = a.forward(x).to_vector();
  CHECK(first == b.forward(x).to_vector());  // same seed, same first mask
  CHECK(first != a.forward(x).to_vector());  // the next step draws another
  a.eval();
  CHECK(a.forward(x).same(x));
}
