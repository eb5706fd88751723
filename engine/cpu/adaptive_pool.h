// cpu/adaptive_pool.h — adaptive average pooling to any output size on the CPU.
//
// AdaptivePool2dShape (engine/kernel_shapes.h): x (N,C,H,W) -> y (N,C,P,Q). Output row p
// averages input rows h0(p) = floor(p*H/P) .. h1(p) - 1 with h1(p) = ceil((p+1)*H/P)
// (PyTorch's bins; neighbours overlap when P does not divide H); columns likewise:
//   y[n,c,p,q] = sum_{h in rows(p), v in cols(q)} x[n,c,h,v] / (|rows(p)| * |cols(q)|)
// Backward: dx[n,c,h,v] = sum over the bins (p,q) holding (h,v) of dy[n,c,p,q] / their size.
// The 1x1 case has its own, faster kernel (cpu/pooling.h, avg_pool_1x1_*).
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // AdaptivePool2dShape

namespace sn {

// The bin of output index i of `out` over an input of `in`: [begin, end).
inline int64_t adaptive_bin_begin(int64_t i, int64_t in, int64_t out) { return i * in / out; }
inline int64_t adaptive_bin_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

namespace ref {
template <typename T>
void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const T* x, T* y);
template <typename T>
void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const T* dy, T* dx);
}  // namespace ref

// Fast path: threads over (n,c) planes. The backward gathers (each dx element sums the
// few bins that hold it, in order) instead of scattering, so it writes dx once.
namespace cpu {
void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const float* x, float* y);
void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const float* dy, float* dx);
}  // namespace cpu

}  // namespace sn
