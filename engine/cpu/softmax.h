// cpu/softmax.h — softmax, log-softmax and argmax over the rows of (N,K).
//
// Numerically stable: with m = max_j x_j, log_softmax(x)_j = x_j - m - log(sum_j exp(x_j - m)).
// Backward, from the output y:
//   log_softmax: dx = dy - softmax(x) * sum(dy)      (softmax(x) = exp(y))
//   softmax:     dx = y * (dy - sum(dy * y))
#pragma once
#include <cstdint>

namespace sn {

namespace ref {
template <typename T>
void log_softmax_forward(int64_t N, int64_t K, const T* x, T* y);
template <typename T>
void log_softmax_backward(int64_t N, int64_t K, const T* y, const T* dy, T* dx);
template <typename T>
void softmax_forward(int64_t N, int64_t K, const T* x, T* y);
template <typename T>
void softmax_backward(int64_t N, int64_t K, const T* y, const T* dy, T* dx);
template <typename T>
void argmax(int64_t N, int64_t K, const T* x, int64_t* out);  // first maximum of each row
}  // namespace ref

// Fast path: rows split over threads; max, exp and sums vectorized (Eigen), so it equals
// the reference to float rounding (a few ulp), not bitwise. argmax is exact.
namespace cpu {
void log_softmax_forward(int64_t N, int64_t K, const float* x, float* y);
void log_softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx);
void softmax_forward(int64_t N, int64_t K, const float* x, float* y);
void softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx);
void argmax(int64_t N, int64_t K, const float* x, int64_t* out);
}  // namespace cpu

}  // namespace sn
