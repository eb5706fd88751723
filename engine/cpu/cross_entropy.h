// cpu/cross_entropy.h — mean cross-entropy of logits (N,K) against integer labels.
//
//   loss = (1/N) sum_i [ logsumexp(x_i) - x_i[label_i] ]        (stable: max subtracted)
//   dx_i = g/N * (softmax(x_i) - onehot(label_i))                 (g = dL/dloss)
// Labels are host integers already checked to lie in [0, K) by the op.
#pragma once
#include <cstdint>

namespace sn {

namespace ref {
template <typename T>
T cross_entropy_forward(int64_t N, int64_t K, const T* x, const int64_t* labels);
template <typename T>
void cross_entropy_backward(int64_t N, int64_t K, const T* x, const int64_t* labels, T g, T* dx);
}  // namespace ref

// Fast path, the signatures of every backend (engine/kernel_contract.h): the
// scalars are passed by pointer, as on the GPU, where they live on the device:
// loss receives the mean loss, grad_loss holds g.
namespace cpu {
void cross_entropy_forward(int64_t N, int64_t K, const float* x, const int64_t* labels, float* loss);
void cross_entropy_backward(int64_t N, int64_t K, const float* x, const int64_t* labels, const float* grad_loss,
                            float* dx);
}  // namespace cpu

}  // namespace sn
