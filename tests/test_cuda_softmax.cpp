// [cuda] argmax and cross-entropy's label check on the GPU. log_softmax, softmax and
// cross_entropy against the double reference are rows of the op table (tests/test_cuda_ops.cpp).
#include <cstring>

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

TEST_CASE("cuda cross_entropy: labels out of range are rejected on the host, before any kernel runs",
          "[cuda][xent][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(112);
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
    if (K > 3) p[K - 1] = p[1] = 100.f;      // a tie in row 0: the first one wins
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
