// conv2d_grouped.cuh — grouped and depthwise 2-D convolution on the GPU, our own kernels
// (--conv native; cuDNN takes groups itself, kernels/cudnn_conv.cpp). Same signatures and
// definitions as engine/cpu/conv2d_grouped.h: x (N,C,H,W), w (K,C/groups,R,S), y (N,K,P,Q).
//
// Direct kernels, no im2col: a depthwise layer does 9 multiply-adds per output and is
// memory-bound, so the point is to read each input once from the cache and write each
// output once.
//   forward:         one thread per output, summing its group's Cg*R*S products
//   backward input:  one thread per input element, gathering the (k, p, q, r, s) that read it
//   backward weight: one block per weight element, a fixed-order block sum over (n, p, q)
// Every sum has a fixed order: the same result every run, no atomics.
// The bias gradient is the dense one (cuda::conv2d_backward_bias, kernels/conv2d.cuh).
#pragma once
#include "engine/kernel_shapes.h"  // Conv2dShape

namespace sn::cuda {

void conv2d_grouped_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_grouped_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_grouped_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);

}  // namespace sn::cuda
