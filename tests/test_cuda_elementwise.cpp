// [cuda] relu/add/scale on the GPU against the CPU path: the float4 and scalar paths on
// unaligned views, NaN bit patterns. The plain cases are rows of the op table
// (tests/test_cuda_ops.cpp).
#include <cstring>
#include <limits>

#include "engine/cpu/elementwise.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/elementwise.cuh"
#endif

using namespace sn;
using namespace sn::test;

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

TEST_CASE("cuda relu keeps NaN (and -0) as the CPU path and PyTorch do, its backward as the CPU",
          "[cuda][relu][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const uint32_t payload_bits = 0x7fc01234u;  // a NaN with a payload: the same bits must come out
  float payload;
  std::memcpy(&payload, &payload_bits, sizeof payload);
  const std::vector<float> x = {nan, -nan, 1.5f, -2.f, 0.f, -0.f, inf, -inf, payload, 3.f, -nan, 7.f, nan};
  std::vector<float> dy(x.size());
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = 0.25f + float(i);
  auto same_bits = [](const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; };

  // 13 values: the float4 path (first 12) and the scalar tail; from element 1 the
  // pointers are not 16-byte aligned (scalar path throughout).
  Tensor gx = to_gpu(x), gdy = to_gpu(dy), gy = gpu_poisoned(int64_t(x.size())), gdx = gpu_poisoned(int64_t(x.size()));
  for (int64_t start : {0, 1}) {
    const int64_t n = int64_t(x.size()) - start;
    INFO("start " << start);
    std::vector<float> y_cpu(n), dx_cpu(n);
    cpu::relu_forward(x.data() + start, y_cpu.data(), n);
    cpu::relu_backward(x.data() + start, dy.data() + start, dx_cpu.data(), n);
    CHECK(std::isnan(y_cpu[8 - start]));  // the CPU keeps NaN: what the GPU must match
    CHECK(dx_cpu[8 - start] == 0.f);      // and gives it no gradient

    cuda::relu_forward(gx.data() + start, gy.data() + start, n);
    cuda::relu_backward(gx.data() + start, gdy.data() + start, gdx.data() + start, n);
    const std::vector<float> y_gpu = to_host(gy), dx_gpu = to_host(gdx);
    for (int64_t i = 0; i < n; ++i) {
      INFO("element " << i << ": x " << x[start + i] << " -> gpu " << y_gpu[start + i] << ", cpu " << y_cpu[i]
                      << "; dx gpu " << dx_gpu[start + i] << ", cpu " << dx_cpu[i]);
      CHECK(same_bits(&y_gpu[start + i], &y_cpu[i], 1));
      CHECK(same_bits(&dx_gpu[start + i], &dx_cpu[i], 1));
    }
  }

  // Through the op and autograd, as the model runs it.
  Tensor xc = Tensor::from_vector(x, {int64_t(x.size())});
  xc.set_requires_grad(true);
  Tensor yc = relu(xc);
  yc.backward(Tensor::from_vector(dy, {int64_t(dy.size())}));
  Tensor gl = gpu_leaf(Tensor::from_vector(x, {int64_t(x.size())}));
  Tensor yg = relu(gl);
  yg.backward(to_gpu(dy));
  CHECK(same_bits(to_host(yg).data(), yc.to_vector().data(), x.size()));
  CHECK(same_bits(to_host(gl.grad()).data(), xc.grad().to_vector().data(), x.size()));
#endif
}
