// cpu/conv2d.h — 2-D convolution (cross-correlation, as in PyTorch) on the CPU.
//
// Sizes come in a Conv2dShape (engine/kernel_shapes.h): x (N,C,H,W), w (K,C,R,S),
// bias (K) or null, y (N,K,P,Q), with P = (H + 2*pad - R) / stride + 1:
//   y[n,k,p,q] = bias[k] + sum_{c,r,s} x[n, c, p*stride - pad + r, q*stride - pad + s] * w[k,c,r,s]
// (x outside the image reads as 0). The backward kernels give the three
// gradients separately, so the op computes only those that are needed.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // Conv2dShape

namespace sn {

// The definition; any s.groups (w (K,C/groups,R,S)), 1 being the dense convolution.
namespace ref {
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx);  // dx (N,C,H,W)
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw);  // dw (K,C/groups,R,S)
template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db);  // db (K)
}  // namespace ref

// Fast path, the same signatures in float. Bit-identical for any thread count.
//   forward   conv2d_forward.cpp: one packed GEMM over the whole batch with implicit
//             im2col (its packing in conv2d_im2col.cpp, the GEMM in engine/cpu/gemm/);
//   backward  conv2d_backward.cpp: im2col + GEMM (engine/cpu/gemm/gemm.h), threads over
//             the batch, or over GEMM tiles for a single image; the stride-1 input
//             gradient runs as a convolution on the forward's GEMM.
// The reference is conv2d_reference.cpp. The blocked inference path (NCHWc,
// Winograd) is conv2d_nchwc.h and conv2d_winograd.h.
namespace cpu {
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db);
}  // namespace cpu

}  // namespace sn
