// [cuda] max_pool2d (both backends) and adaptive_avg_pool2d_1x1 on the GPU
// against the double reference (engine/cpu/pooling.h ref::), forward and backward.
#include <array>

#include "engine/backend_config.h"
#include "engine/cpu/pooling.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

#if SCRATCHNET_CUDA
namespace {

void check_max_pool(ConvBackend backend, int64_t N, int64_t C, int64_t H, int64_t W, int kernel, int stride, int pad,
                    Rng& rng) {
  backend_config().conv = backend;
  Pool2dShape s{N, C, H, W, kernel, stride, pad, 0, 0};
  s.P = (H + 2 * pad - kernel) / stride + 1;
  s.Q = (W + 2 * pad - kernel) / stride + 1;
  // Random normals: no ties, and windows at the border that are all negative
  // (padding must not win, as it would if it counted as 0).
  Tensor x = Tensor::randn({N, C, H, W}, rng), gy = Tensor::randn({N, C, s.P, s.Q}, rng);
  auto xd = doubles(x), gyd = doubles(gy);
  std::vector<double> yd(N * C * s.P * s.Q), dxd(xd.size());
  ref::max_pool2d_forward<double>(s, xd.data(), yd.data());
  ref::max_pool2d_backward<double>(s, xd.data(), gyd.data(), dxd.data());
  Tensor gx = gpu_leaf(x);
  Tensor y = max_pool2d(gx, kernel, stride, pad);
  y.backward(gy.to(Device::CUDA));
  INFO("backend " << to_string(backend) << " x (" << N << "," << C << "," << H << "," << W << ") kernel " << kernel
                  << " stride " << stride << " pad " << pad);
  // Max pooling selects values: the forward is exact; the backward adds at most
  // a few dy values per element, in the reference's order (ours) or another (cuDNN).
  CHECK(max_rel_error(to_host(y), yd) == 0);
  CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-6);
}

}  // namespace
#endif

TEST_CASE("cuda max_pool2d native equals the reference, forward and backward", "[cuda][pool][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(91);
  check_max_pool(ConvBackend::Native, 2, 3, 9, 11, 3, 2, 1, rng);   // ResNet's 3x3 s2 p1 on odd sizes
  check_max_pool(ConvBackend::Native, 2, 4, 8, 8, 2, 2, 0, rng);
  check_max_pool(ConvBackend::Native, 1, 2, 7, 5, 3, 1, 1, rng);    // overlapping windows, stride 1
  check_max_pool(ConvBackend::Native, 4, 64, 56, 56, 3, 2, 1, rng);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

TEST_CASE("cuda max_pool2d through cuDNN equals the reference, forward and backward", "[cuda][pool][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(92);
  check_max_pool(ConvBackend::Cudnn, 2, 3, 9, 11, 3, 2, 1, rng);
  check_max_pool(ConvBackend::Cudnn, 2, 4, 8, 8, 2, 2, 0, rng);
  check_max_pool(ConvBackend::Cudnn, 1, 2, 7, 5, 3, 1, 1, rng);
  check_max_pool(ConvBackend::Cudnn, 4, 64, 56, 56, 3, 2, 1, rng);
#endif
}

TEST_CASE("cuda adaptive_avg_pool2d_1x1 equals the reference, forward and backward", "[cuda][pool][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(93);
  for (auto [N, C, H, W] : {std::array<int64_t, 4>{2, 3, 7, 7}, {3, 70, 1, 1}, {2, 5, 13, 11}, {32, 2048, 7, 7}}) {
    Tensor x = Tensor::randn({N, C, H, W}, rng), gy = Tensor::randn({N, C, 1, 1}, rng);
    auto xd = doubles(x), gyd = doubles(gy);
    std::vector<double> yd(N * C), dxd(xd.size());
    ref::avg_pool_1x1_forward<double>(N * C, H * W, xd.data(), yd.data());
    ref::avg_pool_1x1_backward<double>(N * C, H * W, gyd.data(), dxd.data());
    Tensor gx = gpu_leaf(x);
    Tensor y = adaptive_avg_pool2d_1x1(gx);
    y.backward(gy.to(Device::CUDA));
    INFO("x (" << N << "," << C << "," << H << "," << W << ")");
    CHECK(rel_l2_error(to_host(y), yd) < 1e-6);  // means of <= 143 floats
    CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-6);
  }
#endif
}
