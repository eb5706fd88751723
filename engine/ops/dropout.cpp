// ops/dropout.cpp — dropout: the mask drawn on the host, applied as a product, forward and backward.
#include <vector>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/elementwise.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/random.h"
#if SCRATCHNET_CUDA
#include "kernels/elementwise.cuh"
#endif

namespace sn {

Tensor dropout(const Tensor& x, float p, bool training, Rng& rng) {
  SN_CHECK(p >= 0.f && p <= 1.f, "dropout: p must lie in [0, 1], got ", p);
  if (!training || p == 0.f) return x;
  // The mask holds 0 or the keep scale 1/(1-p) (computed in double, then rounded once,
  // as PyTorch's 1/(1-p) on a double p). One uniform() per element in memory order,
  // on the host: the same mask for CPU and CUDA and any thread count. uniform() < 1,
  // so p == 1 drops everything.
  const int64_t n = x.numel();
  const float keep = p < 1.f ? static_cast<float>(1.0 / (1.0 - static_cast<double>(p))) : 0.f;
  std::vector<float> m(static_cast<size_t>(n));
  for (float& v : m) v = rng.uniform() >= static_cast<double>(p) ? keep : 0.f;
  const Tensor mask = Tensor::from_vector(m, x.shape(), x.device());
  Tensor y = Tensor::empty(x.shape(), x.device());
  SN_DISPATCH(x, cpu::mul_forward(x.data(), mask.data(), y.data(), n),
              cuda::mul_forward(x.data(), mask.data(), y.data(), n));
  // dy/dx = mask: the same draws, kept with the closure.
  return record(y, "dropout", {x}, [x, mask, n](const Tensor&, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(gy, cpu::mul_forward(gy.data(), mask.data(), gx.data(), n),
                cuda::mul_forward(gy.data(), mask.data(), gx.data(), n));
    x.accumulate_grad(gx);
  });
}

}  // namespace sn
