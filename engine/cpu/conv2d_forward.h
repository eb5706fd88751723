// cpu/conv2d_forward.h — the fast convolution forward: one big GEMM with implicit im2col.
//
//   y[n, k, p, q] = sum_{c,r,s} w[k, (c,r,s)] * x[n, c, p*stride - pad + r, q*stride - pad + s]
//
// is the product  Y (K, N*P*Q) = W (K, C*R*S) * X_col (C*R*S, N*P*Q)  where
// X_col is the im2col matrix of the whole batch. X_col is never built: the
// GEMM driver (engine/cpu/gemm/driver.h) asks for one [256 x 48] block at a time,
// and the im2col source (conv2d_im2col.h) fills it straight from x (AVX-512 gathers where the 16 columns of a
// vector are not contiguous in x, a plain load where they are). The columns of
// all images form one GEMM, so even layer4's 7x7 maps give a wide product at
// batch 32, and the result is written straight into the (N,K,P,Q) output.
#pragma once
#include "engine/kernel_shapes.h"  // Conv2dShape

namespace sn::cpu {

// x (N,C,H,W), w (K,C,R,S), bias (K) or null -> y (N,K,P,Q):
//   y = [max(0,] conv(x, w) [+ y] [+ bias] [)]
// overwritten, or with accumulate added to what y holds (a residual); relu
// applies last. Both fuse into the GEMM's epilogue (no extra pass over y).
// Bit-identical for any thread count. cpu::conv2d_forward (conv2d.h) is this
// without the fusions.
void conv2d_forward_gemm(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                         bool relu = false, bool accumulate = false);

}  // namespace sn::cpu
