// [cuda] grouped and depthwise conv2d on the GPU, our kernels (--conv native) and cuDNN's
// group count, against the double reference (engine/cpu/conv2d_grouped.h ref::), through
// the op: forward, input, weight and bias gradients.
#include "engine/backend_config.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_grouped.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

#if SCRATCHNET_CUDA
namespace {
struct Case {
  int64_t N, C, H, W, K, R, stride, pad, groups;
};
// Small: depthwise stride 1 and 2 with odd sizes, a kernel as large as the padded map,
// 2 and 4 groups of several channels, a depth multiplier.
const Case kSmall[] = {{2, 5, 9, 7, 5, 3, 1, 1, 5}, {2, 6, 9, 8, 6, 3, 2, 1, 6},  {1, 3, 4, 4, 3, 6, 1, 1, 3},
                       {2, 4, 7, 7, 6, 3, 1, 1, 2}, {1, 12, 8, 9, 8, 3, 2, 1, 4}, {2, 3, 6, 6, 6, 3, 1, 1, 3}};
// Every depthwise layer of torchvision's mobilenet_v2 at 224 (3x3, padding 1), one image.
const Case kMobileNetV2[] = {{1, 32, 112, 112, 32, 3, 1, 1, 32},  {1, 96, 112, 112, 96, 3, 2, 1, 96},
                             {1, 144, 56, 56, 144, 3, 1, 1, 144}, {1, 144, 56, 56, 144, 3, 2, 1, 144},
                             {1, 192, 28, 28, 192, 3, 1, 1, 192}, {1, 192, 28, 28, 192, 3, 2, 1, 192},
                             {1, 384, 14, 14, 384, 3, 1, 1, 384}, {1, 576, 14, 14, 576, 3, 1, 1, 576},
                             {1, 576, 14, 14, 576, 3, 2, 1, 576}, {1, 960, 7, 7, 960, 3, 1, 1, 960}};

void check_grouped(ConvBackend backend, const Case& c, Rng& rng) {
  backend_config().conv = backend;
  Conv2dShape s{c.N, c.C, c.H, c.W, c.K, c.R, c.R, c.stride, c.pad, 0, 0, c.groups};
  s.P = (c.H + 2 * c.pad - c.R) / c.stride + 1;
  s.Q = (c.W + 2 * c.pad - c.R) / c.stride + 1;
  Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, rng), w = Tensor::randn({c.K, c.C / c.groups, c.R, c.R}, rng);
  Tensor b = Tensor::randn({c.K}, rng), gy = Tensor::randn({c.N, c.K, s.P, s.Q}, rng);
  auto xd = doubles(x), wd = doubles(w), bd = doubles(b), gyd = doubles(gy);
  std::vector<double> yd(gyd.size()), dxd(xd.size()), dwd(wd.size()), dbd(bd.size());
  ref::conv2d_forward<double>(s, xd.data(), wd.data(), bd.data(), yd.data());
  ref::conv2d_backward_input<double>(s, gyd.data(), wd.data(), dxd.data());
  ref::conv2d_backward_weight<double>(s, xd.data(), gyd.data(), dwd.data());
  ref::conv2d_backward_bias<double>(s, gyd.data(), dbd.data());
  Tensor gx = gpu_leaf(x), gw = gpu_leaf(w), gb = gpu_leaf(b);
  Tensor y = conv2d(gx, gw, gb, {int(c.stride), int(c.pad), int(c.groups)});
  y.backward(gy.to(Device::CUDA));
  INFO("backend " << to_string(backend) << " x (" << c.N << "," << c.C << "," << c.H << "," << c.W << ") K " << c.K
                  << " " << c.R << "x" << c.R << " stride " << c.stride << " pad " << c.pad << " groups " << c.groups);
  // Float sums of at most Cg*R*S products (y, dx) or N*P*Q (dw, db), in fixed orders;
  // FP32 throughout (cuDNN: TF32 is off by default): rel. L2 ~1e-7 to 1e-6, 1e-5 the bound.
  CHECK(rel_l2_error(to_host(y), yd) < 1e-5);
  CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-5);
  CHECK(rel_l2_error(to_host(gw.grad()), dwd) < 1e-5);
  CHECK(rel_l2_error(to_host(gb.grad()), dbd) < 1e-5);
}
}  // namespace
#endif

TEST_CASE("cuda conv2d grouped native equals the reference, small shapes", "[cuda][conv][grouped][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(220);
  for (const Case& c : kSmall) check_grouped(ConvBackend::Native, c, rng);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

TEST_CASE("cuda conv2d grouped native equals the reference on every MobileNetV2 depthwise shape",
          "[cuda][conv][grouped]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(221);
  for (const Case& c : kMobileNetV2) check_grouped(ConvBackend::Native, c, rng);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

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

TEST_CASE("cuda conv2d grouped through cuDNN equals the reference", "[cuda][conv][grouped][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(223);
  for (const Case& c : kSmall) check_grouped(ConvBackend::Cudnn, c, rng);
  for (const Case& c : kMobileNetV2) check_grouped(ConvBackend::Cudnn, c, rng);
#endif
}
