// Adam and SGD: parity with torch.optim over 10 steps (golden files), fast vs
// reference update, state export / import (resume), option and state errors.
#include <algorithm>

#include "engine/check.h"
#include "engine/cpu/optim.h"
#include "engine/optim/adam.h"
#include "engine/optim/sgd.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
// Largest |ours - torch| / max(|torch|, 1e-3) over the elements: a per-element
// relative error (parameters are O(1) here; the floor only matters for an
// element that happens to be tiny, then it is an absolute error of 1e-9).
double param_error(const Tensor& ours, const std::vector<float>& torch) {
  return max_rel_error(ours.to_vector(), torch, 1e-3);
}

// Feeds the stored gradient of each step, steps, and returns the worst error
// of the parameters against PyTorch's after each step.
double replay(optim::Optimizer& opt, std::vector<Tensor>& params, const Fixture& f, const std::string& run, int from,
              int to) {
  double worst = 0;
  for (int t = from; t < to; ++t) {
    opt.zero_grad();
    for (size_t i = 0; i < params.size(); ++i)
      params[i].accumulate_grad(f.tensor(run + ".grad" + std::to_string(t) + "." + std::to_string(i)));
    opt.step();
    for (size_t i = 0; i < params.size(); ++i)
      worst =
          std::max(worst, param_error(params[i], f.data(run + ".param" + std::to_string(t) + "." + std::to_string(i))));
  }
  return worst;
}
std::vector<Tensor> init_params(const Fixture& f, const std::string& run) {
  std::vector<Tensor> p = {f.tensor(run + ".init.0"), f.tensor(run + ".init.1")};
  for (auto& t : p) t.set_requires_grad(true);
  return p;
}
}  // namespace

TEST_CASE("Adam: 10 steps equal torch.optim.Adam within 1e-6 relative", "[optim][adam][parity]") {
  // Both sides update in float32 with the same formula; a different rounding of
  // one operation moves a parameter by ~1 ulp (6e-8 relative) per step, so 10
  // steps stay well below 1e-6. A wrong bias correction or beta is off by > 1e-4.
  const Fixture f = load_fixture("optim_adam");
  {
    auto params = init_params(f, "default");
    optim::Adam adam(params);  // PyTorch defaults
    const double err = replay(adam, params, f, "default", 0, 10);
    UNSCOPED_INFO("Adam defaults: max relative parameter error over 10 steps " << err);
    CHECK(err < 1e-6);
    CHECK(adam.step_count(0) == 10);
  }
  {
    auto params = init_params(f, "custom");
    optim::Adam adam(params, {1e-2, 0.8, 0.99, 1e-6, 0.1});
    const double err = replay(adam, params, f, "custom", 0, 10);
    UNSCOPED_INFO("Adam lr 1e-2, betas (0.8, 0.99), eps 1e-6, weight decay 0.1: error " << err);
    CHECK(err < 1e-6);
  }
}

TEST_CASE("Adam: exported state resumes to the same trajectory", "[optim][adam]") {
  const Fixture f = load_fixture("optim_adam");
  auto params = init_params(f, "custom");
  const optim::AdamOptions o{1e-2, 0.8, 0.99, 1e-6, 0.1};
  optim::NamedTensors saved;
  {
    optim::Adam adam(params, o);
    replay(adam, params, f, "custom", 0, 5);
    saved = adam.state();
  }
  REQUIRE(saved.size() == 6);
  CHECK(saved[0].first == "state.0.step");
  CHECK(saved[0].second.item() == 5.f);
  CHECK(saved[1].first == "state.0.exp_avg");
  CHECK(saved[2].first == "state.0.exp_avg_sq");
  optim::Adam resumed(params, o);  // a fresh optimizer, as after a restart
  resumed.load_state(saved);
  CHECK(resumed.step_count(1) == 5);
  CHECK(replay(resumed, params, f, "custom", 5, 10) < 1e-6);

  // Without the state the bias correction restarts at step 1: visibly different.
  auto params2 = init_params(f, "custom");
  optim::Adam fresh(params2, o);
  replay(fresh, params2, f, "custom", 0, 5);
  optim::Adam restarted(params2, o);
  CHECK(replay(restarted, params2, f, "custom", 5, 10) > 1e-4);
}

TEST_CASE("Adam: bad state is rejected naming the tensor, and leaves the optimizer unchanged", "[optim][adam]") {
  Tensor p = Tensor::zeros({2, 3});
  p.set_requires_grad(true);
  optim::Adam adam({p});
  auto good = adam.state();
  auto missing = good;
  missing.pop_back();
  REQUIRE_THROWS_WITH(adam.load_state(missing), Catch::Contains("missing") && Catch::Contains("state.0.exp_avg_sq"));
  auto extra = good;
  extra.emplace_back("state.1.exp_avg", Tensor::zeros({2, 3}));
  REQUIRE_THROWS_WITH(adam.load_state(extra), Catch::Contains("unexpected") && Catch::Contains("state.1.exp_avg"));
  auto wrong = good;
  wrong[1].second = Tensor::zeros({3, 2});
  REQUIRE_THROWS_WITH(adam.load_state(wrong),
                      Catch::Contains("state.0.exp_avg") && Catch::Contains("(3, 2)") && Catch::Contains("(2, 3)"));
  auto bad_step = good;
  bad_step[0].second = Tensor::full({}, 2.5f);
  REQUIRE_THROWS_WITH(adam.load_state(bad_step), Catch::Contains("whole number"));
  CHECK(adam.step_count(0) == 0);
  REQUIRE_THROWS_WITH(optim::Adam({p}, {1e-3, 1.0, 0.999, 1e-8, 0}), Catch::Contains("betas"));
}

TEST_CASE("SGD: 10 steps equal torch.optim.SGD (momentum, Nesterov + weight decay, dampening)",
          "[optim][sgd][parity]") {
  const Fixture f = load_fixture("optim_sgd");
  struct Run {
    std::string name;
    optim::SgdOptions o;
  };
  for (const Run& r : {Run{"momentum", {0.05, 0.9, 0, 0, false}}, Run{"nesterov", {0.05, 0.9, 0, 0.01, true}},
                       Run{"dampening", {0.05, 0.5, 0.3, 0, false}}}) {
    auto params = init_params(f, r.name);
    optim::SGD sgd(params, r.o);
    const double err = replay(sgd, params, f, r.name, 0, 10);
    UNSCOPED_INFO("SGD " << r.name << ": max relative parameter error over 10 steps " << err);
    CHECK(err < 1e-6);
  }
}

TEST_CASE("SGD: momentum state resumes, bad options are errors", "[optim][sgd]") {
  const Fixture f = load_fixture("optim_sgd");
  const optim::SgdOptions o{0.05, 0.9, 0, 0, false};
  auto params = init_params(f, "momentum");
  optim::SGD sgd(params, o);
  CHECK(sgd.state().empty());  // no buffer before the first step, as in PyTorch
  replay(sgd, params, f, "momentum", 0, 4);
  auto saved = sgd.state();
  REQUIRE(saved.size() == 2);
  CHECK(saved[1].first == "state.1.momentum_buffer");
  optim::SGD resumed(params, o);
  resumed.load_state(saved);
  CHECK(replay(resumed, params, f, "momentum", 4, 10) < 1e-6);
  REQUIRE_THROWS_WITH(optim::SGD(params, {}), Catch::Contains("learning rate"));
  REQUIRE_THROWS_WITH(optim::SGD(params, {0.1, 0, 0, 0, true}), Catch::Contains("Nesterov"));
}

TEST_CASE("optimizers: fast update equals the reference, parameters without grad are skipped", "[optim]") {
  Rng rng(60);
  const int64_t n = 100003;
  auto p0 = to_float(random_doubles(n, rng)), g = to_float(random_doubles(n, rng));
  auto m0 = to_float(random_doubles(n, rng, -0.1, 0.1)), v0 = to_float(random_doubles(n, rng, 0, 0.01));
  auto p1 = p0, m1 = m0, v1 = v0, p2 = p0, m2 = m0, v2 = v0;
  // The fast loop is vectorized (vector sqrt/div/fma round as the scalar ones): still
  // bitwise, with and without weight decay (two separate loops), for any thread count.
  for (double decay : {0.01, 0.0})
    for (int threads : {1, 2}) {
      const AdamStep h{1e-3, 0.9, 0.999, 1e-8, decay, 1e-3 / (1 - 0.9 * 0.9), std::sqrt(1 - 0.999 * 0.999)};
      p1 = p0, m1 = m0, v1 = v0, p2 = p0, m2 = m0, v2 = v0;
      ref::adam_step(p1.data(), g.data(), m1.data(), v1.data(), n, h);
      set_num_threads(threads);
      cpu::adam_step(p2.data(), g.data(), m2.data(), v2.data(), n, h);
      set_num_threads(0);
      CHECK(p1 == p2);  // same per-element arithmetic: bitwise
      CHECK(m1 == m2);
      CHECK(v1 == v2);
    }
  auto b1 = m0, b2 = m0;
  p1 = p0, p2 = p0;
  const SgdStep s{0.1, 0.9, 0, 0.01, true, false};
  ref::sgd_step(p1.data(), g.data(), b1.data(), n, s);
  cpu::sgd_step(p2.data(), g.data(), b2.data(), n, s);
  CHECK(p1 == p2);
  CHECK(b1 == b2);

  Tensor a = Tensor::ones({3}), b = Tensor::ones({3});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  optim::Adam adam({a, b});
  a.accumulate_grad(Tensor::ones({3}));
  adam.step();
  CHECK(a.to_vector()[0] < 1.f);
  CHECK(b.to_vector() == std::vector<float>{1, 1, 1});
  CHECK(adam.step_count(1) == 0);
  adam.zero_grad();
  CHECK_FALSE(a.grad().defined());
}
