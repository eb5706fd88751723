// Tensor basics and the autograd engine itself (graph, accumulation, no-grad).
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "tests/helpers.h"

using namespace sn;

TEST_CASE("tensor: factories, views and slices share storage", "[tensor]") {
  Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.at({1, 2}) == 5.f);
  Tensor v = t.view({3, -1});
  CHECK(v.shape() == Shape{3, 2});
  v.data()[0] = 42.f;
  CHECK(t.at({0, 0}) == 42.f);
  Tensor row = t.slice(1, 2);
  CHECK(row.shape() == Shape{1, 3});
  CHECK(row.to_vector() == std::vector<float>{3, 4, 5});
  Tensor c = t.clone();
  c.data()[1] = -1.f;
  CHECK(t.at({0, 1}) == 1.f);
}

TEST_CASE("tensor: shape errors print both shapes", "[tensor]") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  REQUIRE_THROWS_WITH(add(a, b), Catch::Contains("(2, 3)") && Catch::Contains("(3, 2)"));
  REQUIRE_THROWS_WITH(a.view({4, 2}), Catch::Contains("(4, 2)"));
  REQUIRE_THROWS_AS(a.slice(1, 3), Error);
}

TEST_CASE("rng: deterministic, state round-trips, randint unbiased range", "[tensor]") {
  Rng a(7), b(7);
  for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
  auto st = a.state();
  double x = a.uniform();
  a.set_state(st);
  CHECK(a.uniform() == x);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 30000; ++i) counts[a.randint(0, 2)]++;
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);  // ~5 sigma
}

TEST_CASE("autograd: a diamond graph accumulates gradients from both paths", "[autograd]") {
  // y = relu(x) + relu(x) * 3  ->  dy/dx = 4 where x > 0, else 0.
  Tensor x = Tensor::from_vector({-1, 2, 3, -4}, {4});
  x.set_requires_grad(true);
  Tensor r = relu(x);
  Tensor y = add(r, scale(r, 3.f));
  y.backward(Tensor::ones({4}));
  CHECK(x.grad().to_vector() == std::vector<float>{0, 4, 4, 0});
  // A second backward through a new graph adds to the leaf's gradient.
  add(x, x).backward(Tensor::ones({4}));
  CHECK(x.grad().to_vector() == std::vector<float>{2, 6, 6, 2});
}

TEST_CASE("autograd: a first gradient nobody else holds becomes grad without a copy, a shared one is copied",
          "[autograd]") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3});
  x.set_requires_grad(true);
  const float* fresh_data = nullptr;
  {
    Tensor fresh = Tensor::from_vector({1, 1, 1}, {3});
    fresh_data = fresh.data();
    x.accumulate_grad(fresh);  // the caller's handle is its only one: taken as it is
  }
  CHECK(x.grad().data() == fresh_data);
  x.accumulate_grad(Tensor::from_vector({2, 2, 2}, {3}));  // later ones add in place
  CHECK(x.grad().to_vector() == std::vector<float>{3, 3, 3});

  // Held elsewhere too (the user's tensor, a view of it): copied, and adding
  // into the gradient later leaves the user's tensor as it was.
  for (bool view : {false, true}) {
    x.zero_grad();
    Tensor mine = view ? Tensor::from_vector({5, 6, 7}, {1, 3}) : Tensor::from_vector({5, 6, 7}, {3});
    Tensor g = view ? mine.view({3}) : mine;
    x.accumulate_grad(g);
    CHECK(x.grad().data() != mine.data());
    x.accumulate_grad(Tensor::from_vector({1, 1, 1}, {3}));
    CHECK(x.grad().to_vector() == std::vector<float>{6, 7, 8});
    CHECK(mine.to_vector() == std::vector<float>{5, 6, 7});
  }
  // The backward seed is the caller's tensor: copied.
  Tensor y = scale(x, 2.f);
  x.zero_grad();
  Tensor seed = Tensor::from_vector({1, 1, 1}, {3});
  y.backward(seed);
  CHECK(x.grad().to_vector() == std::vector<float>{2, 2, 2});
  CHECK(seed.to_vector() == std::vector<float>{1, 1, 1});
}

TEST_CASE("autograd: no graph under NoGradGuard or from frozen inputs", "[autograd]") {
  Tensor x = Tensor::ones({3});
  x.set_requires_grad(true);
  {
    NoGradGuard g;
    Tensor y = relu(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  Tensor frozen = Tensor::ones({3});  // requires_grad false
  Tensor z = relu(frozen);
  CHECK_FALSE(z.requires_grad());
  CHECK(z.grad_fn() == nullptr);
  REQUIRE_THROWS_AS(z.backward(Tensor::ones({3})), Error);
}

TEST_CASE("autograd: frozen activations are not kept alive by the graph", "[autograd]") {
  // The only reference to `a` after this scope would be a saved closure. With
  // frozen inputs no closure is recorded, so the storage is freed.
  std::weak_ptr<Storage> watch;
  {
    Tensor a = relu(Tensor::ones({1000}));
    watch = a.impl()->storage;
    Tensor b = relu(a);
    (void)b;
  }
  CHECK(watch.expired());
}

TEST_CASE("autograd: the graph is freed after backward", "[autograd]") {
  Tensor x = Tensor::ones({5});
  x.set_requires_grad(true);
  Tensor y = relu(relu(x));
  std::weak_ptr<Node> node = y.grad_fn();
  y.backward(Tensor::ones({5}));
  CHECK(node.expired());
  CHECK_FALSE(y.grad().defined());  // non-leaf gradients are not retained
  CHECK(x.grad().defined());
}
