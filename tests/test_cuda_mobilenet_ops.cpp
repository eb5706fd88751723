// [cuda] dropout on the GPU: what the op table (tests/op_table.h, tests/test_cuda_ops.cpp)
// cannot say. The table compares relu6, dropout's mask product (mul) and adaptive average
// pooling with the double reference on every backend; here: dropout outside training
// returns its input itself on the GPU too.
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("cuda dropout: not training, or p 0, returns the input itself", "[cuda][dropout][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng data(231);
  Tensor xg = gpu_leaf(Tensor::randn({4, 1281}, data));
  Rng rng(5);
  CHECK(dropout(xg, 0.2f, false, rng).same(xg));
  CHECK(dropout(xg, 0.f, true, rng).same(xg));
#endif
}
