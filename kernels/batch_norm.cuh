// batch_norm.cuh — 2-D batch normalization with our own kernels (engine/cpu/batch_norm.h
// defines the semantics; kernels/cudnn_ops.h has the cuDNN version).
//
// The contract of engine/kernel_contract.h (the same signatures as cpu::, cudnn::):
// x (N,C,HW) with the sizes in a BatchNormShape; weight/bias (C) or null (1 and 0). Training: batch mean and biased
// variance (two passes, double accumulators), running stats updated with the
// unbiased variance; eval: running stats. save_mean/save_invstd (C) always
// receive the mean and 1/sqrt(var + eps) used. Backward: any of dx, dweight,
// dbias may be null. Device pointers.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // BatchNormShape

namespace sn::cuda {

void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd);
// eps: the forward's, unused (save_invstd holds it); cuDNN's backward needs it.
void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float eps, float* dx,
                         float* dweight, float* dbias);
// Only the per-channel part of the eval forward: save_mean = running_mean,
// save_invstd = 1/sqrt(running_var + eps). The cuDNN path uses it too.
void batch_norm_eval_stats(int64_t C, const float* running_mean, const float* running_var, float eps, float* save_mean,
                           float* save_invstd);

}  // namespace sn::cuda
