// cpu/conv2d_grouped.h — grouped and depthwise 2-D convolution on the CPU.
//
// Sizes in a Conv2dShape with groups G > 1 (engine/kernel_shapes.h): x (N,C,H,W),
// w (K, C/G, R, S), y (N,K,P,Q). With Cg = C/G and Kg = K/G, output channel k
// belongs to group g = k / Kg and reads input channels g*Cg .. g*Cg + Cg - 1 only:
//   y[n,k,p,q] = bias[k] + sum_{j<Cg,r,s} x[n, g*Cg + j, p*stride - pad + r, q*stride - pad + s] * w[k,j,r,s]
// (x outside the image reads as 0). Backward:
//   dx[n, g*Cg + j, h, v] = sum over (k in group g, p, q, r, s) where that x was read, of dy[n,k,p,q] * w[k,j,r,s]
//   dw[k,j,r,s]           = sum over (n,p,q) of dy[n,k,p,q] * the x value it multiplied
// The bias gradient is the dense one (cpu::conv2d_backward_bias, engine/cpu/conv2d.h):
// it only sums dy per output channel. The reference is ref::conv2d_* (engine/cpu/conv2d.h),
// which takes any G (G == 1 is the dense convolution); the op sends G == 1 to the dense kernels.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // Conv2dShape

namespace sn {

// Fast path. Depthwise (G == C == K, is_depthwise) runs its own memory-bound kernel
// (engine/cpu/conv2d_depthwise.cpp); any other G gathers each group's channels into a
// dense problem and runs the dense im2col + GEMM kernels (engine/cpu/conv2d.h) on it.
namespace cpu {
bool is_depthwise(const Conv2dShape& s);
void conv2d_grouped_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_grouped_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_grouped_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);

// The depthwise kernels (w (C,1,R,S)): threads over (n,c) planes (dw: over channels,
// each summing its images in order), so results do not depend on the thread count.
void conv2d_depthwise_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_depthwise_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_depthwise_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
}  // namespace cpu

}  // namespace sn
