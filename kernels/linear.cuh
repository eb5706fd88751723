// linear.cuh — the fully connected layer on the GPU: three products through our
// tiled SGEMM (kernels/gemm.cuh) and a column sum. Same signatures as engine/cpu/linear.h.
//
// x (N,in), w (out,in), bias (out) or null, y (N,out):  y = x w^T + bias
//   dx = dy w   (N,in)    dw = dy^T x   (out,in)    db = sum over rows of dy   (out)
// Host code only (linear.cpp): the kernels are gemm.cu's and reduce.cu's.
#pragma once
#include <cstdint>

namespace sn::cuda {

void linear_forward(int64_t N, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y);
void linear_backward_input(int64_t N, int64_t in, int64_t out, const float* dy, const float* w, float* dx);
void linear_backward_weight(int64_t N, int64_t in, int64_t out, const float* x, const float* dy, float* dw);
void linear_backward_bias(int64_t N, int64_t out, const float* dy, float* db);

}  // namespace sn::cuda
