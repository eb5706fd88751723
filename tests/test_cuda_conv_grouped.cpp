// [cuda] grouped and depthwise conv2d on the GPU: what the op table (tests/op_table.h,
// tests/test_cuda_ops.cpp) cannot say. The table compares grouped, depthwise and every
// MobileNetV2 depthwise shape with the double reference on every backend; here: our
// kernels give the same bits run after run.
#include "engine/backend_config.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda conv2d grouped native is deterministic", "[cuda][conv][grouped][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  backend_config().conv = ConvBackend::Native;
  Rng rng(222);
  Tensor x = Tensor::randn({2, 8, 10, 10}, rng), w = Tensor::randn({8, 1, 3, 3}, rng),
         gy = Tensor::randn({2, 8, 5, 5}, rng);
  auto run = [&] {
    Tensor gx = gpu_leaf(x), gw = gpu_leaf(w);
    Tensor y = conv2d(gx, gw, Tensor(), {2, 1, 8});
    y.backward(gy.to(Device::CUDA));
    return std::vector<std::vector<float>>{to_host(y), to_host(gx.grad()), to_host(gw.grad())};
  };
  CHECK(run() == run());  // fixed summation orders, no atomics: bit-identical
  backend_config().conv = ConvBackend::Cudnn;
#endif
}
