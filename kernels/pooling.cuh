// pooling.cuh — max pooling and global average pooling on the GPU (engine/cpu/pooling.h is the CPU side).
//
// max_pool2d: x (N,C,H,W) -> y (N,C,P,Q), the first maximum of each window
// (row-major scan, NaN wins, padding never wins), exactly as the CPU. Its
// backward recomputes each window's maximum from x (no saved indices) and
// gathers: every input element sums dy over the windows whose maximum it is,
// in the same order as the CPU, so results match bit for bit and need no atomics.
// avg_pool_1x1: x (planes, hw) -> y (planes) = mean; backward dx = dy / hw.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // Pool2dShape

namespace sn::cuda {

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx);
void avg_pool_1x1_forward(int64_t planes, int64_t hw, const float* x, float* y);
void avg_pool_1x1_backward(int64_t planes, int64_t hw, const float* dy, float* dx);

}  // namespace sn::cuda
