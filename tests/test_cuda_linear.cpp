// [cuda] linear on the GPU (three SGEMMs and a column sum) against the double
// reference (engine/cpu/linear.h ref::), forward and backward.
#include "engine/cpu/linear.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda linear equals the double reference, forward and backward", "[cuda][linear][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(101);
  // (N, in, out): the experiment's heads (2048 -> 2, 512 -> 2), odd sizes, more than one 128-tile.
  const int64_t cases[][3] = {{32, 2048, 2}, {32, 512, 2}, {5, 7, 3}, {1, 1, 1}, {130, 300, 129}, {64, 1000, 257}};
  for (auto& c : cases) {
    const int64_t N = c[0], in = c[1], out = c[2];
    for (bool with_bias : {true, false}) {
      Tensor x = Tensor::randn({N, in}, rng), w = Tensor::randn({out, in}, rng, 0.1f);
      Tensor b = with_bias ? Tensor::randn({out}, rng) : Tensor(), gy = Tensor::randn({N, out}, rng);
      auto xd = doubles(x), wd = doubles(w), gyd = doubles(gy);
      std::vector<double> bd = with_bias ? doubles(b) : std::vector<double>{};
      std::vector<double> yd(N * out), dxd(xd.size()), dwd(wd.size()), dbd(out);
      ref::linear_forward<double>(N, in, out, xd.data(), wd.data(), with_bias ? bd.data() : nullptr, yd.data());
      ref::linear_backward_input<double>(N, in, out, gyd.data(), wd.data(), dxd.data());
      ref::linear_backward_weight<double>(N, in, out, xd.data(), gyd.data(), dwd.data());
      ref::linear_backward_bias<double>(N, out, gyd.data(), dbd.data());
      Tensor gx = gpu_leaf(x), gw = gpu_leaf(w), gb = with_bias ? gpu_leaf(b) : Tensor();
      Tensor y = linear(gx, gw, gb);
      y.backward(gy.to(Device::CUDA));
      INFO("N " << N << " in " << in << " out " << out << " bias " << with_bias);
      // Sums of at most 2048 float products: ~1e-7 relative.
      CHECK(rel_l2_error(to_host(y), yd) < 1e-5);
      CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-5);
      CHECK(rel_l2_error(to_host(gw.grad()), dwd) < 1e-5);
      if (with_bias) CHECK(rel_l2_error(to_host(gb.grad()), dbd) < 1e-5);
    }
  }
#endif
}
