// cpu/linear.h — the fully connected layer on the CPU.
//
// x (N,in), w (out,in), bias (out) or null, y (N,out):  y = x w^T + bias
//   dx = dy w   (N,in)    dw = dy^T x   (out,in)    db = sum over rows of dy   (out)
#pragma once
#include <cstdint>

namespace sn {

namespace ref {
template <typename T>
void linear_forward(int64_t N, int64_t in, int64_t out, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void linear_backward_input(int64_t N, int64_t in, int64_t out, const T* dy, const T* w, T* dx);
template <typename T>
void linear_backward_weight(int64_t N, int64_t in, int64_t out, const T* x, const T* dy, T* dw);
template <typename T>
void linear_backward_bias(int64_t N, int64_t out, const T* dy, T* db);
}  // namespace ref

// Fast path: the three products through cpu::sgemm (engine/cpu/gemm/gemm.h).
namespace cpu {
void linear_forward(int64_t N, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y);
void linear_backward_input(int64_t N, int64_t in, int64_t out, const float* dy, const float* w, float* dx);
void linear_backward_weight(int64_t N, int64_t in, int64_t out, const float* x, const float* dy, float* dw);
void linear_backward_bias(int64_t N, int64_t out, const float* dy, float* db);
}  // namespace cpu

}  // namespace sn
