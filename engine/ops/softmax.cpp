// ops/softmax.cpp — log_softmax, softmax (differentiable) and argmax, over dim 1 of (N,K).
#include "engine/cpu/softmax.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/softmax.cuh"
#endif

namespace sn {

static void check_rows(const Tensor& x, const char* op) {
  SN_CHECK(x.ndim() == 2 && x.size(1) > 0, op, ": input must be (N,K) with K > 0, got ", to_string(x.shape()));
}

Tensor log_softmax(const Tensor& x) {
  check_rows(x, "log_softmax");
  const int64_t N = x.size(0), K = x.size(1);
  Tensor y = Tensor::empty(x.shape(), x.device());
  SN_DISPATCH(x, cpu::log_softmax_forward(N, K, x.data(), y.data()),
              cuda::log_softmax_forward(N, K, x.data(), y.data()));
  // The backward reads the output (handed in as `out`, never captured: that would be a cycle).
  return record(y, "log_softmax", {x}, [x, N, K](const Tensor& out, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(gy, cpu::log_softmax_backward(N, K, out.data(), gy.data(), gx.data()),
                cuda::log_softmax_backward(N, K, out.data(), gy.data(), gx.data()));
    x.accumulate_grad(gx);
  });
}

Tensor softmax(const Tensor& x) {
  check_rows(x, "softmax");
  const int64_t N = x.size(0), K = x.size(1);
  Tensor y = Tensor::empty(x.shape(), x.device());
  SN_DISPATCH(x, cpu::softmax_forward(N, K, x.data(), y.data()), cuda::softmax_forward(N, K, x.data(), y.data()));
  return record(y, "softmax", {x}, [x, N, K](const Tensor& out, const Tensor& gy) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    SN_DISPATCH(gy, cpu::softmax_backward(N, K, out.data(), gy.data(), gx.data()),
                cuda::softmax_backward(N, K, out.data(), gy.data(), gx.data()));
    x.accumulate_grad(gx);
  });
}

std::vector<int64_t> argmax(const Tensor& x) {
  check_rows(x, "argmax");
  // (N,K) logits are small: a GPU tensor is brought to the host, which needs the answer anyway.
  const Tensor xc = x.to(Device::CPU);
  std::vector<int64_t> out(static_cast<size_t>(x.size(0)));
  cpu::argmax(x.size(0), x.size(1), xc.data(), out.data());
  return out;
}

}  // namespace sn
