// select.h — which GPU implementation of conv2d, batch_norm and max_pool2d runs.
//
// The ops (engine/ops/*.cpp) call gpu::..., which looks at
// backend_config().conv (engine/backend_config.h, set by --conv):
//   cudnn  (default) -> cudnn::  (kernels/cudnn_*.cpp, NVIDIA's library)
//   native           -> cuda::   (kernels/conv2d.cu, batch_norm.cu, pooling.cu, our own kernels)
// Same signatures as the CPU kernels in engine/cpu/.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // Conv2dShape, Pool2dShape, BatchNormShape

namespace sn::gpu {

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db);  // always ours (a reduction)

void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd);
// eps: the forward's (cuDNN wants it in the backward too; ours and the CPU's do not use it).
void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float eps, float* dx,
                         float* dweight, float* dbias);

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx);

}  // namespace sn::gpu
