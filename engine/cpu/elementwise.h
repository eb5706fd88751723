// cpu/elementwise.h — relu, relu6, add, mul, scale: reference loops and the fast CPU path.
#pragma once
#include <cstdint>

namespace sn {

namespace ref {
template <typename T>
void relu_forward(const T* x, T* y, int64_t n);
template <typename T>
void relu_backward(const T* x, const T* dy, T* dx, int64_t n);  // dx = dy * (x > 0)
template <typename T>
void relu6_forward(const T* x, T* y, int64_t n);  // y = min(max(x, 0), 6)
template <typename T>
void relu6_backward(const T* x, const T* dy, T* dx, int64_t n);  // dx = dy * (0 < x < 6)
template <typename T>
void add_forward(const T* a, const T* b, T* y, int64_t n);
template <typename T>
void mul_forward(const T* a, const T* b, T* y, int64_t n);  // y = a * b (dropout's mask)
template <typename T>
void scale_forward(const T* x, T s, T* y, int64_t n);
}  // namespace ref

namespace cpu {
void relu_forward(const float* x, float* y, int64_t n);
void relu_backward(const float* x, const float* dy, float* dx, int64_t n);
void relu6_forward(const float* x, float* y, int64_t n);
void relu6_backward(const float* x, const float* dy, float* dx, int64_t n);
void add_forward(const float* a, const float* b, float* y, int64_t n);
void mul_forward(const float* a, const float* b, float* y, int64_t n);
void scale_forward(const float* x, float s, float* y, int64_t n);
}  // namespace cpu

}  // namespace sn
