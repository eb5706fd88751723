// [cuda] conv2d on the GPU, both backends (our im2col + SGEMM, and cuDNN),
// forward and the three gradients, through the op and autograd, against the
// double-precision reference (engine/cpu/conv2d.h ref::) on the same inputs.
#include "engine/backend_config.h"
#include "engine/cpu/conv2d.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/cudnn_ops.h"
#include "kernels/gemm.cuh"
#endif
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

#if SCRATCHNET_CUDA
namespace {

struct ConvCase {
  int64_t N, C, H, W, K, R, stride, pad;
  bool bias;
};

// Shapes with odd sizes, strides 1 and 2, 1x1 / 3x3 / 5x5 / 7x7 kernels,
// padding 0..3, non-square images: every index path of im2col and col2im.
const ConvCase kCases[] = {
    {2, 3, 11, 13, 4, 3, 1, 1, true},  {3, 5, 9, 9, 7, 3, 2, 1, false}, {2, 8, 10, 10, 16, 1, 1, 0, true},
    {2, 4, 15, 14, 6, 7, 2, 3, false}, {1, 16, 7, 7, 32, 1, 2, 0, true}, {2, 3, 5, 6, 2, 5, 1, 0, true},
    {4, 33, 6, 6, 130, 3, 1, 1, false}, {2, 3, 40, 40, 8, 3, 1, 1, true},  // the last: split-K weight gradient
};

void check_conv(ConvBackend backend, const ConvCase& c, Rng& rng) {
  backend_config().conv = backend;
  backend_config().tf32 = false;
  Conv2dShape s{c.N, c.C, c.H, c.W, c.K, c.R, c.R, c.stride, c.pad, 0, 0};
  s.P = (s.H + 2 * s.pad - s.R) / s.stride + 1;
  s.Q = (s.W + 2 * s.pad - s.S) / s.stride + 1;
  Tensor x = Tensor::randn({s.N, s.C, s.H, s.W}, rng), w = Tensor::randn({s.K, s.C, s.R, s.S}, rng, 0.3f);
  Tensor b = c.bias ? Tensor::randn({s.K}, rng) : Tensor(), gy = Tensor::randn({s.N, s.K, s.P, s.Q}, rng);

  // Reference in double.
  auto xd = doubles(x), wd = doubles(w), gyd = doubles(gy);
  std::vector<double> bd = c.bias ? doubles(b) : std::vector<double>{};
  std::vector<double> yd(s.N * s.K * s.P * s.Q), dxd(xd.size()), dwd(wd.size()), dbd(s.K);
  ref::conv2d_forward<double>(s, xd.data(), wd.data(), c.bias ? bd.data() : nullptr, yd.data());
  ref::conv2d_backward_input<double>(s, gyd.data(), wd.data(), dxd.data());
  ref::conv2d_backward_weight<double>(s, xd.data(), gyd.data(), dwd.data());
  ref::conv2d_backward_bias<double>(s, gyd.data(), dbd.data());

  // GPU through the op: outputs are fresh allocations, poisoned with NaN.
  Tensor gx = gpu_leaf(x), gw = gpu_leaf(w), gb = c.bias ? gpu_leaf(b) : Tensor();
  Tensor y = conv2d(gx, gw, gb, Conv2dParams{int(c.stride), int(c.pad)});
  REQUIRE(y.is_cuda());
  REQUIRE(y.shape() == Shape{s.N, s.K, s.P, s.Q});
  y.backward(gy.to(Device::CUDA));

  INFO("backend " << to_string(backend) << " x (" << s.N << "," << s.C << "," << s.H << "," << s.W << ") w (" << s.K
                  << "," << s.C << "," << s.R << "," << s.S << ") stride " << s.stride << " pad " << s.pad);
  if (backend == ConvBackend::Cudnn) {
    // Which algorithms ran, in the output of every run (a numerics difference is then
    // not mistaken for a bug). With TF32 off, cudnn_conv.cpp ranks FFT and Winograd
    // after every algorithm that sums float32 products as the CPU does (their error,
    // up to ~1e-4 relative, would not meet 1e-5): none of them should be chosen.
    const cudnn::ConvAlgorithms al = cudnn::conv_algorithms(s);
    WARN("cuDNN algorithms for x (" << s.N << "," << s.C << "," << s.H << "," << s.W << ") w (" << s.K << "," << s.C
                                    << "," << s.R << "," << s.S << ") stride " << s.stride << " pad " << s.pad
                                    << ": forward " << al.forward.name << ", backward-data " << al.backward_data.name
                                    << ", backward-filter " << al.backward_filter.name);
    CHECK(al.forward.chosen);
    CHECK(al.backward_data.chosen);
    CHECK(al.backward_filter.chosen);
    CHECK_FALSE(al.forward.approximate);
    CHECK_FALSE(al.backward_data.approximate);
    CHECK_FALSE(al.backward_filter.approximate);
    CHECK_FALSE(al.forward.tensor_ops);
    CHECK_FALSE(al.backward_data.tensor_ops);
    CHECK_FALSE(al.backward_filter.tensor_ops);
  }
  // Sums of up to C*R*S = 1176 (forward) or N*P*Q (weight grad) float products: ~1e-7 relative; 1e-5 is a wide
  // margin. The same bound for cuDNN: FMA math, no FFT/Winograd (checked above).
  CHECK(rel_l2_error(to_host(y), yd) < 1e-5);
  CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-5);
  CHECK(rel_l2_error(to_host(gw.grad()), dwd) < 1e-5);
  if (c.bias) CHECK(rel_l2_error(to_host(gb.grad()), dbd) < 1e-5);
}

}  // namespace
#endif

TEST_CASE("cuda conv2d native (im2col + SGEMM) equals the double reference, forward and backward",
          "[cuda][conv][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(71);
  CHECK(cuda::split_k_count(8, 3 * 3 * 3, 2 * 40 * 40) > 1);  // the last case covers the split-K weight gradient
  for (const ConvCase& c : kCases) check_conv(ConvBackend::Native, c, rng);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

TEST_CASE("cuda conv2d cuDNN equals the double reference, forward and backward, algorithms cached",
          "[cuda][conv][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(72);
  for (const ConvCase& c : kCases) check_conv(ConvBackend::Cudnn, c, rng);
  const size_t cached = cudnn::conv_algorithm_cache_size();
  CHECK(cached >= 3 * std::size(kCases));  // forward, backward-data, backward-filter per shape
  check_conv(ConvBackend::Cudnn, kCases[0], rng);  // same shape again: no new choice
  CHECK(cudnn::conv_algorithm_cache_size() == cached);
#endif
}

TEST_CASE("cuda conv2d: the native and cuDNN results agree on a ResNet-sized layer", "[cuda][conv][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  // A layer3-like 3x3 conv: C*R*S = 2304 products per output, too big for the double reference loop to be quick.
  Rng rng(73);
  Tensor x = Tensor::randn({4, 256, 14, 14}, rng).to(Device::CUDA);
  Tensor w = Tensor::randn({256, 256, 3, 3}, rng, 0.05f).to(Device::CUDA);
  backend_config().conv = ConvBackend::Native;
  const auto a = to_host(conv2d(x, w, Tensor(), Conv2dParams{1, 1}));
  backend_config().conv = ConvBackend::Cudnn;
  const auto b = to_host(conv2d(x, w, Tensor(), Conv2dParams{1, 1}));
  CHECK(rel_l2_error(a, b) < 1e-5);  // two float32 sums of 2304 terms in different orders: ~1e-7 apart
#endif
}

TEST_CASE("cuda conv2d cuDNN on views that start mid-block: their own algorithm choice, same results",
          "[cuda][conv][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  // 3*5*7 = 105 floats per image: image 1 starts 420 bytes in, 4-byte aligned only.
  backend_config().conv = ConvBackend::Cudnn;
  backend_config().tf32 = false;
  Rng rng(74);
  Tensor x = Tensor::randn({3, 3, 5, 7}, rng), w = Tensor::randn({4, 3, 3, 3}, rng, 0.3f);
  Tensor gx = x.to(Device::CUDA), gw = w.to(Device::CUDA);
  const size_t before = cudnn::conv_algorithm_cache_size();
  const auto aligned = to_host(conv2d(gx.slice(0, 2), gw, Tensor(), Conv2dParams{1, 1}));  // images 0, 1
  const auto shifted = to_host(conv2d(gx.slice(1, 3), gw, Tensor(), Conv2dParams{1, 1}));  // images 1, 2
  CHECK(cudnn::conv_algorithm_cache_size() == before + 2);  // one forward choice per alignment
  const auto ref_a = conv2d(x.slice(0, 2), w, Tensor(), Conv2dParams{1, 1}).to_vector();
  const auto ref_s = conv2d(x.slice(1, 3), w, Tensor(), Conv2dParams{1, 1}).to_vector();
  CHECK(rel_l2_error(aligned, ref_a) < 1e-5);
  CHECK(rel_l2_error(shifted, ref_s) < 1e-5);
#endif
}
