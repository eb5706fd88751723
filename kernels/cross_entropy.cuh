// cross_entropy.cuh — fused log_softmax + negative log-likelihood, mean over the batch, on the GPU.
// The signatures of engine/cpu/cross_entropy.h (engine/kernel_contract.h); the scalars live on the device.
//
//   loss = (1/N) * sum_i [ logsumexp(x_i) - x_i[label_i] ]          logits x (N,K), device
//   dx_i = g/N * (softmax(x_i) - onehot(label_i))                   g = dL/dloss, one float on the device
//
// labels: N host integers, each in [0, K) (the op checks them); they are
// uploaded as int64 (a label out of range in a kernel gives NaN, never a wild
// read). loss: one float in device memory.
#pragma once
#include <cstdint>

namespace sn::cuda {

void cross_entropy_forward(int64_t N, int64_t K, const float* x, const int64_t* labels, float* loss);
void cross_entropy_backward(int64_t N, int64_t K, const float* x, const int64_t* labels, const float* grad_loss,
                            float* dx);

}  // namespace sn::cuda
