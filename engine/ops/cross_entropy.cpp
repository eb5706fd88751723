// ops/cross_entropy.cpp — mean cross-entropy over integer labels: checks, forward, backward.
#include "engine/cpu/cross_entropy.h"
#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

#if SCRATCHNET_CUDA
#include "kernels/cross_entropy.cuh"
#endif

namespace sn {

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels) {
  SN_CHECK(logits.ndim() == 2 && logits.size(1) > 0, "cross_entropy: logits must be (N,K), got ",
           to_string(logits.shape()));
  const int64_t N = logits.size(0), K = logits.size(1);
  SN_CHECK(N > 0, "cross_entropy: empty batch");
  SN_CHECK(static_cast<int64_t>(labels.size()) == N, "cross_entropy: ", labels.size(), " labels for logits ",
           to_string(logits.shape()));
  for (int64_t i = 0; i < N; ++i)
    SN_CHECK(labels[i] >= 0 && labels[i] < K, "cross_entropy: label ", labels[i], " at index ", i,
             " is out of range [0, ", K, ")");
  Tensor loss = Tensor::empty({}, logits.device());
  SN_DISPATCH(logits, cpu::cross_entropy_forward(N, K, logits.data(), labels.data(), loss.data()),
              cuda::cross_entropy_forward(N, K, logits.data(), labels.data(), loss.data()));
  return record(loss, "cross_entropy", {logits}, [logits, labels, N, K](const Tensor&, const Tensor& gloss) {
    Tensor gx = Tensor::empty(logits.shape(), logits.device());
    SN_DISPATCH(gloss, cpu::cross_entropy_backward(N, K, logits.data(), labels.data(), gloss.data(), gx.data()),
                cuda::cross_entropy_backward(N, K, logits.data(), labels.data(), gloss.data(), gx.data()));
    logits.accumulate_grad(gx);
  });
}

}  // namespace sn
