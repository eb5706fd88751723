// [cuda] log_softmax, softmax, cross_entropy (fused) and argmax on the GPU
// against the double reference (engine/cpu/softmax.h, cross_entropy.h ref::).
#include <cstring>

#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/softmax.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/softmax.cuh"
#endif

using namespace sn;
using namespace sn::test;

namespace {
// (N, K): the experiment's (32, 2), a single row, ImageNet's 1000 classes, K above the block size.
const int64_t kShapes[][2] = {{32, 2}, {1, 1}, {3, 5}, {7, 1000}, {2, 4099}};
}  // namespace

TEST_CASE("cuda log_softmax and softmax equal the double reference, forward and backward",
          "[cuda][softmax][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(111);
  for (auto& sh : kShapes) {
    const int64_t N = sh[0], K = sh[1];
    for (bool log_out : {true, false}) {
      Tensor x = Tensor::randn({N, K}, rng, 3.f), gy = Tensor::randn({N, K}, rng);
      auto xd = doubles(x), gyd = doubles(gy);
      std::vector<double> yd(N * K), dxd(N * K);
      if (log_out) {
        ref::log_softmax_forward<double>(N, K, xd.data(), yd.data());
        ref::log_softmax_backward<double>(N, K, yd.data(), gyd.data(), dxd.data());
      } else {
        ref::softmax_forward<double>(N, K, xd.data(), yd.data());
        ref::softmax_backward<double>(N, K, yd.data(), gyd.data(), dxd.data());
      }
      Tensor gx = gpu_leaf(x);
      Tensor y = log_out ? log_softmax(gx) : softmax(gx);
      y.backward(gy.to(Device::CUDA));
      INFO("N " << N << " K " << K << (log_out ? " log_softmax" : " softmax"));
      // A max, a sum of K exponentials and a log per row: a few ulps, ~1e-7 relative.
      CHECK(rel_l2_error(to_host(y), yd) < 1e-5);
      CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-5);
    }
  }
#endif
}

TEST_CASE("cuda cross_entropy (fused) equals the double reference, forward and backward", "[cuda][xent][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(112);
  for (auto& sh : kShapes) {
    const int64_t N = sh[0], K = sh[1];
    Tensor x = Tensor::randn({N, K}, rng, 3.f);
    std::vector<int64_t> labels(N);
    for (auto& l : labels) l = rng.randint(0, K - 1);
    auto xd = doubles(x);
    const double loss_ref = ref::cross_entropy_forward<double>(N, K, xd.data(), labels.data());
    std::vector<double> dxd(N * K);
    const double g = 0.7;  // upstream gradient: scale the loss so g is not 1
    ref::cross_entropy_backward<double>(N, K, xd.data(), labels.data(), g, dxd.data());
    Tensor gx = gpu_leaf(x);
    Tensor loss = cross_entropy(gx, labels);
    REQUIRE(loss.is_cuda());
    scale(loss, float(g)).backward();
    INFO("N " << N << " K " << K);
    CHECK(std::abs(loss.item() - loss_ref) <= 1e-5 * std::max(1.0, std::abs(loss_ref)));
    CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-5);
  }
  // Labels out of range are rejected on the host, before any kernel runs.
  Tensor x = Tensor::randn({2, 3}, rng).to(Device::CUDA);
  CHECK_THROWS_WITH(cross_entropy(x, {0, 3}), Catch::Contains("out of range"));
#endif
}

TEST_CASE("cuda argmax kernel: the CPU scan's answer, ties and NaN included", "[cuda][softmax][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(113);
  for (auto& sh : kShapes) {
    const int64_t N = sh[0], K = sh[1];
    Tensor x = Tensor::randn({N, K}, rng);
    float* p = x.data();
    if (K > 3) p[K - 1] = p[1] = 100.f;  // a tie in row 0: the first one wins
    if (N > 2 && K > 4) p[2 * K + 4] = NAN;  // NaN in row 2: whatever the scan gives, both give it
    std::vector<int64_t> want(N);
    auto xd = doubles(x);
    ref::argmax<double>(N, K, xd.data(), want.data());
    Tensor gx = x.to(Device::CUDA);
    Tensor idx = Tensor::empty({N * 2}, Device::CUDA);  // room for N int64s
    cuda::argmax(N, K, gx.data(), reinterpret_cast<int64_t*>(idx.data()));
    std::vector<float> raw = to_host(idx);
    std::vector<int64_t> got(N);
    std::memcpy(got.data(), raw.data(), N * sizeof(int64_t));
    INFO("N " << N << " K " << K);
    CHECK(got == want);
    CHECK(argmax(gx) == want);  // the op (host side) agrees
  }
#endif
}
