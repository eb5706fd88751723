// [cuda] conv2d on the GPU: what the op table's rows (tests/test_cuda_ops.cpp: both
// backends against the double reference, forward and the three gradients) do not say:
// cuDNN's algorithm cache, native and cuDNN agreeing on a ResNet-sized layer, views that
// start mid-block.
#include "engine/backend_config.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/cudnn_ops.h"
#endif
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda conv2d cuDNN: one algorithm choice per shape and pass, cached", "[cuda][conv][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  backend_config().conv = ConvBackend::Cudnn;
  backend_config().tf32 = false;
  Rng rng(72);
  // Forward and backward of a conv with fresh shapes: forward, backward-data and backward-filter choices.
  auto run = [&](int64_t C, int64_t H) {
    Tensor x = gpu_leaf(Tensor::randn({2, C, H, H + 1}, rng)), w = gpu_leaf(Tensor::randn({5, C, 3, 3}, rng, 0.3f));
    Tensor y = conv2d(x, w, Tensor(), Conv2dParams{1, 1});
    y.backward(Tensor::randn(y.shape(), rng).to(Device::CUDA));
  };
  const size_t before = cudnn::conv_algorithm_cache_size();
  run(3, 9);
  run(4, 10);
  // Two shapes no other test uses: each adds a forward, a backward-data and a backward-filter choice.
  const size_t cached = cudnn::conv_algorithm_cache_size();
  CHECK(cached >= before + 2 * 3);
  run(3, 9);  // the same shape again: no new choice
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
