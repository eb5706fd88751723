// ops.h — every differentiable operation of scratchnet, in one list.
//
// Each op lives in engine/ops/<op>.cpp: it checks shapes, allocates the
// output, dispatches the forward to the CPU or CUDA kernel, and records the
// backward closure right below (see autograd.h). The kernels themselves are:
//   engine/cpu/<op>.{h,cpp}   ref::  plain reference loops (templated: float and double)
//                             cpu::  the fast CPU path (Eigen, im2col+GEMM, OpenMP)
//   kernels/<op>.{cuh,cu}     cuda:: hand-written CUDA kernels
//   kernels/cudnn_<op>.cpp    cudnn:: cuDNN-backed versions (conv, batch norm, pooling)
//
// Layout convention: images are (N,C,H,W), row-major, contiguous.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/kernel_shapes.h"  // Conv2dShape, Pool2dShape
#include "engine/random.h"         // Rng (dropout)
#include "engine/tensor.h"

namespace sn {

// ---- elementwise ---------------------------------------------------------------
Tensor relu(const Tensor& x);
// min(max(x, 0), 6); the gradient passes where 0 < x < 6 (PyTorch's hardtanh backward: not at 0 or 6).
Tensor relu6(const Tensor& x);
Tensor add(const Tensor& a, const Tensor& b);  // same shapes, no broadcasting
Tensor scale(const Tensor& x, float s);        // x * s
void add_(Tensor& a, const Tensor& b);         // a += b, in place, never recorded

// ---- shape --------------------------------------------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);     // differentiable view
Tensor flatten(const Tensor& x, int64_t start_dim = 1);  // (N,C,H,W) -> (N, C*H*W)

// ---- convolution --------------------------------------------------------------
struct Conv2dParams {
  int stride = 1;
  int padding = 0;
  int groups = 1;  // C and K split into this many independent convolutions; groups == C == K: depthwise
};
// x (N,C,H,W), weight (K,C/groups,R,S), bias (K) or undefined -> (N,K,P,Q) with
// P = (H + 2*padding - R) / stride + 1, Q likewise. C and K must be multiples of groups.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dParams p);
// Every size of one conv2d call (Conv2dShape, engine/kernel_shapes.h) is computed
// once by the op, which checks them, and handed to the CPU and CUDA kernels.

// ---- normalization ------------------------------------------------------------
// x (N,C,H,W), weight/bias (C). In training, normalizes with the batch
// statistics (biased variance) and updates running_mean/running_var in place
// with `momentum` and the *unbiased* variance, as PyTorch does. In eval, uses
// the running statistics. weight/bias may be undefined (affine=False).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean, Tensor& running_var,
                  bool training, float momentum = 0.1f, float eps = 1e-5f);

// ---- pooling ------------------------------------------------------------------
// (N,C,H,W) -> (N,C,P,Q); padding counts as -infinity.
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding);
// Its sizes, for the kernels: Pool2dShape (engine/kernel_shapes.h).
// (N,C,H,W) -> (N,C,1,1): the mean over H and W.
Tensor adaptive_avg_pool2d_1x1(const Tensor& x);
// (N,C,H,W) -> (N,C,out_h,out_w): output (p,q) is the mean of input rows
// floor(p*H/out_h) .. ceil((p+1)*H/out_h)-1 and the same columns (PyTorch's bins,
// which overlap when H is not a multiple of out_h). out 1x1 is adaptive_avg_pool2d_1x1.
// Sizes for the kernels: AdaptivePool2dShape (engine/kernel_shapes.h).
Tensor adaptive_avg_pool2d(const Tensor& x, int out_h, int out_w);

// ---- regularization -------------------------------------------------------------
// Training (and p > 0): each element kept with probability 1-p and scaled by
// 1/(1-p), else 0; the backward multiplies by the same mask. Not training, or p == 0:
// returns x itself. The mask is drawn on the CPU from `rng`, one uniform() per element
// in memory order, so CPU and CUDA give the same result for the same seed, whatever
// the thread count. It cannot match PyTorch's random stream (another generator):
// only the statistics match. p must lie in [0, 1]; p == 1 gives zeros.
Tensor dropout(const Tensor& x, float p, bool training, Rng& rng);

// ---- dense --------------------------------------------------------------------
// x (N,in), weight (out,in), bias (out) or undefined -> (N,out); y = x W^T + b.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- losses and outputs -------------------------------------------------------
Tensor log_softmax(const Tensor& x);  // over dim 1 of (N,K)
Tensor softmax(const Tensor& x);      // over dim 1 of (N,K)
// Mean over the batch of -log_softmax(logits)[i, labels[i]]; logits (N,K) -> scalar.
// Labels must lie in [0, K): anything else is an error, not garbage.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels);
// Index of the largest value in each row of (N,K); ties go to the first.
std::vector<int64_t> argmax(const Tensor& x);

}  // namespace sn
