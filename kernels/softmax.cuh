// softmax.cuh — softmax, log_softmax and argmax over the rows of x (N,K), on the GPU.
// Device pointers, contiguous rows; dx may not alias y.
#pragma once
#include <cstdint>

namespace sn::cuda {

void softmax_forward(const float* x, float* y, int64_t N, int64_t K);              // y = exp(x - max) / sum
void softmax_backward(const float* y, const float* dy, float* dx, int64_t N, int64_t K);  // dx = y * (dy - sum(dy * y))
void log_softmax_forward(const float* x, float* y, int64_t N, int64_t K);          // y = x - max - log(sum exp(x - max))
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t N, int64_t K);  // dx = dy - exp(y) * sum(dy)
// index (N) int64, device: the first position of each row's largest value, by
// the CPU's scan (a strict >, so equal values keep the first and NaN never wins over an earlier value).
void argmax(const float* x, int64_t* index, int64_t N, int64_t K);

}  // namespace sn::cuda
