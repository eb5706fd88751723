// cpu/cross_entropy.h — mean cross-entropy of logits (N,K) against integer labels.
//
//   loss = (1/N) sum_i [ logsumexp(x_i) - x_i[label_i] ]        (stable: max subtracted)
//   dx_i = g/N * (softmax(x_i) - onehot(label_i))                 (g = dL/dloss)
// Labels are host integers already checked to lie in [0, K) by the op.
#pragma once
#include <cstdint>

namespace sn {

namespace ref {
template <typename T> T cross_entropy_forward(int64_t N, int64_t K, const T* x, const int64_t* labels);
template <typename T>
void cross_entropy_backward(int64_t N, int64_t K, const T* x, const int64_t* labels, T g, T* dx);
}  // namespace ref

namespace cpu {
float cross_entropy_forward(int64_t N, int64_t K, const float* x, const int64_t* labels);
void cross_entropy_backward(int64_t N, int64_t K, const float* x, const int64_t* labels, float g, float* dx);
}  // namespace cpu

}  // namespace sn
