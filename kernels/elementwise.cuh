// elementwise.cuh — relu, relu6, add, mul, scale on the GPU (see engine/cpu/elementwise.h for the CPU side).
// All pointers are device pointers; y may alias an input (in-place add_).
#pragma once
#include <cstdint>

namespace sn::cuda {
void relu_forward(const float* x, float* y, int64_t n);
void relu_backward(const float* x, const float* dy, float* dx, int64_t n);   // dx = dy * (x > 0)
void relu6_forward(const float* x, float* y, int64_t n);                     // min(max(x, 0), 6)
void relu6_backward(const float* x, const float* dy, float* dx, int64_t n);  // dx = dy * (0 < x < 6)
void add_forward(const float* a, const float* b, float* y, int64_t n);
void mul_forward(const float* a, const float* b, float* y, int64_t n);  // y = a * b (dropout's mask)
void scale_forward(const float* x, float s, float* y, int64_t n);
void fill(float* y, float value, int64_t n);  // y[i] = value
}  // namespace sn::cuda
