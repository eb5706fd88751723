// cpu/pooling.h — max pooling and global average pooling on the CPU.
//
// max_pool2d (Pool2dShape in engine/kernel_shapes.h): x (N,C,H,W) -> y (N,C,P,Q),
//   y[n,c,p,q] = max over the window rows p*stride-pad .. +kernel-1 (clipped to
//   the image: padding never wins, as PyTorch's -infinity padding).
// Its backward sends dy to the first maximum of each window (row-major scan
// order, PyTorch's choice for ties). It recomputes the maximum's position from
// x instead of storing indices, so the op only saves x.
// adaptive_avg_pool2d_1x1: x (N,C,H,W) -> y (N,C): the mean of each plane.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // Pool2dShape

namespace sn {

namespace ref {
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y);
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* x, const T* dy, T* dx);
template <typename T>
void avg_pool_1x1_forward(int64_t planes, int64_t hw, const T* x, T* y);
template <typename T>
void avg_pool_1x1_backward(int64_t planes, int64_t hw, const T* dy, T* dx);  // dx = dy / hw
}  // namespace ref

// Fast path: threads over (n,c) planes; inner loops over contiguous rows. The global
// average pool sums 16 planes at once with AVX-512 (see pooling.cpp), else one at a time.
namespace cpu {
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx);
void avg_pool_1x1_forward(int64_t planes, int64_t hw, const float* x, float* y);
void avg_pool_1x1_backward(int64_t planes, int64_t hw, const float* dy, float* dx);
}  // namespace cpu

}  // namespace sn
