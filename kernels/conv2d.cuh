// conv2d.cuh — our own 2-D convolution on the GPU: im2col + the tiled SGEMM
// (kernels/gemm.cuh). The hand-written alternative to cuDNN (--conv native);
// same signatures as engine/cpu/conv2d.h and kernels/cudnn_ops.h.
//
// For a chunk of nb images (chunked so the workspace stays under ~256 MB):
//   forward:   col (CRS, nb*PQ) = im2col(x)        tmp (K, nb*PQ) = w (K, CRS) * col
//              y (nb, K, PQ) = tmp with the first two axes swapped, + bias[k]
//   backward input:  dyT (K, nb*PQ) = dy swapped;  dcol = w^T * dyT;  dx = col2im(dcol)
//   backward weight: dw (K, CRS) += dyT * col^T    (accumulated over chunks; split over K
//                    when K x CRS has few tiles: kernels/gemm.cuh sgemm_split_k)
//   backward bias:   db = sum of dy over N, P, Q   (kernels/reduce.cuh)
// Device pointers; workspace from the caching allocator.
#pragma once
#include "engine/kernel_shapes.h"  // Conv2dShape

namespace sn::cuda {

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db);

}  // namespace sn::cuda
