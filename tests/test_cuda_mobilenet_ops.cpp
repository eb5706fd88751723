// [cuda] relu6, dropout and adaptive_avg_pool2d (any size) on the GPU, through the ops:
// relu6 and dropout against the CPU (bit for bit: the same selects and products, the same
// host-drawn mask), adaptive pooling against the double reference.
#include <array>

#include "engine/cpu/adaptive_pool.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda relu6 equals the CPU, forward and backward, edges included", "[cuda][relu6][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(230);
  for (int64_t n : {int64_t(6), int64_t(1001), int64_t(70000)}) {
    Tensor x = Tensor::uniform({n}, rng, -3.f, 9.f), gy = Tensor::randn({n}, rng);
    std::vector<float> xv = x.to_vector();
    xv[0] = 0.f, xv[1] = 6.f;
    x = Tensor::from_vector(xv, {n});
    Tensor xc = x.clone();
    xc.set_requires_grad(true);
    Tensor yc = relu6(xc);
    yc.backward(gy);
    Tensor xg = gpu_leaf(x);
    Tensor yg = relu6(xg);
    yg.backward(gy.to(Device::CUDA));
    CHECK(to_host(yg) == yc.to_vector());
    CHECK(to_host(xg.grad()) == xc.grad().to_vector());
  }
#endif
}

TEST_CASE("cuda dropout equals the CPU for the same seed, forward and backward", "[cuda][dropout][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng data(231);
  Tensor x = Tensor::randn({4, 1281}, data), gy = Tensor::randn({4, 1281}, data);
  Tensor xc = x.clone();
  xc.set_requires_grad(true);
  Rng rc(5), rg(5);
  Tensor yc = dropout(xc, 0.2f, true, rc);
  yc.backward(gy);
  Tensor xg = gpu_leaf(x);
  Tensor yg = dropout(xg, 0.2f, true, rg);
  yg.backward(gy.to(Device::CUDA));
  // The mask comes from the host in both cases; a product of the same floats is exact.
  CHECK(to_host(yg) == yc.to_vector());
  CHECK(to_host(xg.grad()) == xc.grad().to_vector());
  Rng re(5);
  CHECK(dropout(xg, 0.2f, false, re).same(xg));
#endif
}

TEST_CASE("cuda adaptive_avg_pool2d equals the reference, forward and backward", "[cuda][avgpool][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(232);
  for (auto [N, C, H, W, P, Q] : {std::array<int64_t, 6>{2, 3, 7, 7, 7, 7},
                                  {2, 2, 10, 9, 7, 7},
                                  {1, 3, 5, 5, 3, 3},
                                  {2, 2, 3, 4, 7, 7},
                                  {1, 2, 8, 11, 3, 5},
                                  {4, 512, 14, 14, 7, 7}}) {
    const AdaptivePool2dShape s{N, C, H, W, P, Q};
    Tensor x = Tensor::randn({N, C, H, W}, rng), gy = Tensor::randn({N, C, P, Q}, rng);
    auto xd = doubles(x), gyd = doubles(gy);
    std::vector<double> yd(gyd.size()), dxd(xd.size());
    ref::adaptive_avg_pool2d_forward<double>(s, xd.data(), yd.data());
    ref::adaptive_avg_pool2d_backward<double>(s, gyd.data(), dxd.data());
    Tensor gx = gpu_leaf(x);
    Tensor y = adaptive_avg_pool2d(gx, int(P), int(Q));
    y.backward(gy.to(Device::CUDA));
    INFO("x (" << N << "," << C << "," << H << "," << W << ") -> " << P << "x" << Q);
    // A float sum of at most a few hundred values divided once (y), a few bins' shares (dx).
    CHECK(rel_l2_error(to_host(y), yd) < 1e-6);
    CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-6);
  }
#endif
}
