// cross_entropy.cuh — fused log_softmax + negative log-likelihood, mean over the batch, on the GPU.
//
//   loss = (1/N) * sum_i [ logsumexp(x_i) - x_i[label_i] ]          logits x (N,K)
//   dx_i = g/N * (softmax(x_i) - onehot(label_i))                   g = dL/dloss, a device scalar
//
// labels: int64 (N) in device memory, each in [0, K) (the op checks them on
// the host before the upload; a label out of range here gives NaN, never a
// wild read). loss: one float in device memory.
#pragma once
#include <cstdint>

namespace sn::cuda {

void cross_entropy_forward(const float* logits, const int64_t* labels, float* loss, int64_t N, int64_t K);
void cross_entropy_backward(const float* logits, const int64_t* labels, const float* grad_loss, float* dlogits,
                            int64_t N, int64_t K);

}  // namespace sn::cuda
