// softmax.cuh — softmax, log_softmax and argmax over the rows of x (N,K), on the GPU.
// Same signatures as engine/cpu/softmax.h. Device pointers, contiguous rows; dx may not alias y.
#pragma once
#include <cstdint>

namespace sn::cuda {

void softmax_forward(int64_t N, int64_t K, const float* x, float* y);                     // y = exp(x - max) / sum
void softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx);  // dx = y * (dy - sum(dy * y))
void log_softmax_forward(int64_t N, int64_t K, const float* x, float* y);  // y = x - max - log(sum exp(x - max))
void log_softmax_backward(int64_t N, int64_t K, const float* y, const float* dy,
                          float* dx);  // dx = dy - exp(y) * sum(dy)
// index (N) int64, device: the first position of each row's largest value, by
// the CPU's scan (a strict >, so equal values keep the first and NaN never wins over an earlier value).
void argmax(int64_t N, int64_t K, const float* x, int64_t* index);

}  // namespace sn::cuda
