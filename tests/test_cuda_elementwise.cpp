// [cuda] relu/add/scale on the GPU against the CPU reference.
#include "engine/cpu/elementwise.h"
#include "engine/ops.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda relu/add/scale equal the CPU reference", "[cuda][relu]") {
  SN_REQUIRE_CUDA();
  Rng rng(11);
  Tensor a = Tensor::randn({3, 1000}, rng), b = Tensor::randn({3, 1000}, rng);
  Tensor ga = a.to(Device::CUDA), gb = b.to(Device::CUDA);
  CHECK(relu(ga).to(Device::CPU).to_vector() == relu(a).to_vector());
  CHECK(add(ga, gb).to(Device::CPU).to_vector() == add(a, b).to_vector());
  CHECK(scale(ga, 0.5f).to(Device::CPU).to_vector() == scale(a, 0.5f).to_vector());
}

TEST_CASE("cuda elementwise: float4 and scalar paths, odd sizes and unaligned views", "[cuda][relu][sanitize]") {
  SN_REQUIRE_CUDA();
  Rng rng(12);
  // n % 4 != 0 exercises the scalar tail; a view starting at element 1 is not
  // 16-byte aligned and takes the scalar path throughout.
  for (int64_t n : {1, 3, 4, 5, 1023, 4096, 100003}) {
    Tensor a = Tensor::randn({n + 1}, rng), b = Tensor::randn({n + 1}, rng);
    Tensor ga = a.to(Device::CUDA), gb = b.to(Device::CUDA);
    for (int64_t start : {0, 1}) {
      Tensor ca = a.slice(start, start + n), cb = b.slice(start, start + n);
      Tensor va = ga.slice(start, start + n), vb = gb.slice(start, start + n);
      INFO("n " << n << " start " << start);
      CHECK(relu(va).to(Device::CPU).to_vector() == relu(ca).to_vector());
      CHECK(add(va, vb).to(Device::CPU).to_vector() == add(ca, cb).to_vector());
      CHECK(scale(va, -1.5f).to(Device::CPU).to_vector() == scale(ca, -1.5f).to_vector());
    }
  }
}
