// [cuda] the fused Adam step against the same update written out in double
// (torch.optim.Adam 1.13, single-tensor path, as engine/cpu/optim.h), over several steps, with
// and without weight decay; and the column/channel sums behind bias gradients.
#include <cmath>
#include <memory>

#include "engine/optim/adam.h"
#include "engine/optim/sgd.h"

#include "tests/cuda_helpers.h"
#include "tests/helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/adam.cuh"
#include "kernels/reduce.cuh"
#include "kernels/sgd.cuh"
#endif

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda adam_step equals the Adam update in double, 5 steps", "[cuda][adam][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(121);
  for (double wd : {0.0, 0.01}) {
    const int64_t n = 1000 + 3;  // odd: no size assumption
    auto p = random_doubles(n, rng), m = std::vector<double>(n, 0.0), v = std::vector<double>(n, 0.0);
    for (auto& x : p) x = double(float(x));
    Tensor gp = to_gpu(p), gm = Tensor::zeros({n}, Device::CUDA), gv = Tensor::zeros({n}, Device::CUDA);
    const cuda::AdamHyper h0{1e-3, 0.9, 0.999, 1e-8, wd, 0};
    for (int64_t step = 1; step <= 5; ++step) {
      auto g = random_doubles(n, rng);
      for (auto& x : g) x = double(float(x));
      // The reference, in double.
      const double bc1 = 1 - std::pow(h0.beta1, double(step)), bc2 = 1 - std::pow(h0.beta2, double(step));
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g[i] + wd * p[i];
        m[i] = h0.beta1 * m[i] + (1 - h0.beta1) * gi;
        v[i] = h0.beta2 * v[i] + (1 - h0.beta2) * gi * gi;
        p[i] -= (h0.lr / bc1) * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + h0.eps);
      }
      Tensor gg = to_gpu(g);
      cuda::AdamHyper h = h0;
      h.step = step;
      cuda::adam_step(gp.data(), gg.data(), gm.data(), gv.data(), n, h);
    }
    INFO("weight_decay " << wd);
    // Five steps of a handful of float operations per element: ~1e-7 relative.
    CHECK(rel_l2_error(to_host(gp), p) < 1e-6);
    CHECK(rel_l2_error(to_host(gm), m) < 1e-5);
    CHECK(rel_l2_error(to_host(gv), v) < 1e-5);
  }
#endif
}

TEST_CASE("cuda sgd_step equals the SGD update in double: plain, momentum, Nesterov, decay", "[cuda][adam][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(123);
  struct Opt {
    double momentum, dampening, wd;
    bool nesterov;
  };
  for (const Opt o :
       {Opt{0, 0, 0, false}, Opt{0.9, 0, 0, false}, Opt{0.9, 0.1, 1e-4, false}, Opt{0.9, 0, 1e-2, true}}) {
    const int64_t n = 777;
    auto p = random_doubles(n, rng), buf = std::vector<double>(n, 0.0);
    for (auto& x : p) x = double(float(x));
    Tensor gp = to_gpu(p), gbuf = gpu_poisoned(n);  // the first step must overwrite the buffer
    const double lr = 0.05;
    for (int step = 1; step <= 4; ++step) {
      auto g = random_doubles(n, rng);
      for (auto& x : g) x = double(float(x));
      for (int64_t i = 0; i < n; ++i) {
        double d = g[i] + o.wd * p[i];
        if (o.momentum != 0) {
          buf[i] = step == 1 ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
          d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
        }
        p[i] -= lr * d;
      }
      Tensor gg = to_gpu(g);
      cuda::sgd_step(gp.data(), gg.data(), o.momentum != 0 ? gbuf.data() : nullptr, n,
                     cuda::SgdHyper{lr, o.momentum, o.dampening, o.wd, o.nesterov, step == 1});
    }
    INFO("momentum " << o.momentum << " dampening " << o.dampening << " wd " << o.wd << " nesterov " << o.nesterov);
    CHECK(rel_l2_error(to_host(gp), p) < 1e-6);  // four steps of a few float operations per element
  }
#endif
}

TEST_CASE("cuda sum_outer_inner: bias-gradient sums over (outer, C, inner)", "[cuda][reduce][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(122);
  const int64_t shapes[][3] = {{32, 2, 1}, {5, 300, 1}, {3, 7, 49}, {2, 64, 3136}, {1, 1, 1}, {0, 4, 5}};
  for (auto& s : shapes) {
    const int64_t outer = s[0], C = s[1], inner = s[2];
    auto x = random_doubles(std::max<int64_t>(outer * C * inner, 1), rng);
    for (auto& e : x) e = double(float(e));
    std::vector<double> ref(C, 0.0);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < inner; ++i) ref[c] += x[(o * C + c) * inner + i];
    Tensor gx = to_gpu(x), gy = gpu_poisoned(C);
    cuda::sum_outer_inner(gx.data(), gy.data(), outer, C, inner);
    INFO("outer " << outer << " C " << C << " inner " << inner);
    const auto got = to_host(gy);
    if (outer == 0)
      CHECK(got == std::vector<float>(C, 0.f));
    else
      CHECK(rel_l2_error(got, ref) < 1e-5);  // float sums of <= 6272 values
  }
#endif
}

TEST_CASE("cuda optim::Adam and optim::SGD on GPU parameters equal the same optimizers on the CPU",
          "[cuda][adam][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(124);
  for (int which = 0; which < 2; ++which) {
    Tensor pc = Tensor::randn({300, 7}, rng), bc = Tensor::randn({7}, rng);
    Tensor pg = gpu_leaf(pc), bg = gpu_leaf(bc);
    pc.set_requires_grad(true);
    bc.set_requires_grad(true);
    std::unique_ptr<optim::Optimizer> oc, og;
    if (which == 0) {
      oc = std::make_unique<optim::Adam>(std::vector<Tensor>{pc, bc}, optim::AdamOptions{1e-2, 0.9, 0.999, 1e-8, 1e-3});
      og = std::make_unique<optim::Adam>(std::vector<Tensor>{pg, bg}, optim::AdamOptions{1e-2, 0.9, 0.999, 1e-8, 1e-3});
    } else {
      optim::SgdOptions o;
      o.lr = 0.05, o.momentum = 0.9, o.weight_decay = 1e-3, o.nesterov = true;
      oc = std::make_unique<optim::SGD>(std::vector<Tensor>{pc, bc}, o);
      og = std::make_unique<optim::SGD>(std::vector<Tensor>{pg, bg}, o);
    }
    for (int step = 0; step < 3; ++step) {
      Tensor gp = Tensor::randn({300, 7}, rng), gb = Tensor::randn({7}, rng);
      oc->zero_grad();
      og->zero_grad();
      pc.accumulate_grad(gp);
      bc.accumulate_grad(gb);
      pg.accumulate_grad(gp.to(Device::CUDA));
      bg.accumulate_grad(gb.to(Device::CUDA));
      oc->step();
      og->step();
    }
    INFO((which == 0 ? "Adam" : "SGD"));
    // The same float arithmetic on both sides; FMA contraction on the GPU may differ by an ulp per operation.
    CHECK(rel_l2_error(to_host(pg), pc.to_vector()) < 1e-6);
    CHECK(rel_l2_error(to_host(bg), bc.to_vector()) < 1e-6);
  }
#endif
}
