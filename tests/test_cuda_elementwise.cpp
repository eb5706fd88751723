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
