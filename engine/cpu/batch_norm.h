// cpu/batch_norm.h — 2-D batch normalization on the CPU, as PyTorch defines it.
//
// x (N,C,HW) seen per channel c over its M = N*HW values; weight/bias (C) or
// null (affine=False: weight 1, bias 0).
//   training: mean, var = batch mean and *biased* variance of channel c;
//             running_mean = (1-momentum)*running_mean + momentum*mean
//             running_var  = (1-momentum)*running_var  + momentum*var*M/(M-1)   (unbiased)
//   eval:     mean, var = running_mean, running_var (not updated)
//   y = (x - mean) * invstd * weight + bias, invstd = 1/sqrt(var + eps)
// save_mean/save_invstd (C) receive the mean and invstd used, for the backward.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // BatchNormShape

namespace sn {

namespace ref {
template <typename T>
void batch_norm_forward(const BatchNormShape& s, const T* x, const T* weight, const T* bias, T* running_mean,
                        T* running_var, bool training, T momentum, T eps, T* y, T* save_mean, T* save_invstd);
// With xhat = (x - mean) * invstd and sums over the M values of channel c:
//   dbias = sum dy, dweight = sum dy * xhat
//   training: dx = weight*invstd * (dy - sum(dy)/M - xhat * sum(dy*xhat)/M)  (through the batch statistics)
//   eval:     dx = weight*invstd * dy                                         (an affine map)
// Any of dx, dweight, dbias may be null (not needed). eps is the forward's: only
// cuDNN's backward reads it (save_invstd already holds it); every backend takes it
// so that all share one signature (engine/kernel_contract.h).
template <typename T>
void batch_norm_backward(const BatchNormShape& s, const T* x, const T* dy, const T* save_mean, const T* save_invstd,
                         const T* weight, bool training, T eps, T* dx, T* dweight, T* dbias);
}  // namespace ref

// Fast path: threads over channels (each channel's sums run on one thread, in a
// fixed order), inner loops over contiguous H*W planes that vectorize.
namespace cpu {
void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd);
void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float eps, float* dx,
                         float* dweight, float* dbias);
}  // namespace cpu

}  // namespace sn
