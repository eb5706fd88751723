// cpu/conv2d_nchwc_depthwise.h — depthwise 3x3 convolution (groups = C = K,
// pad 1, stride 1 or 2) on the blocked layout (cpu/nchwc.h), the depthwise
// conv of the frozen-inference path (models/fused_mobilenet_v2.h):
//
//   y[n,c,p,q] = act(bias[c] + sum_{r,s < 3} w[c,0,r,s] * x[n, c, p*stride - 1 + r, q*stride - 1 + s])
//
// (x outside the image reads as 0; act: nchwc.h's Activation, ReLU6 in MobileNetV2).
// In NCHW16c the 16 channels of one pixel are one AVX-512 vector, and a
// depthwise filter pairs channel c of x with channel c of y only: an output
// pixel of a channel block is 9 vector FMAs, x vector times the tap's weight
// vector (the 16 channels' w[c,0,r,s]), with the 9 weight vectors and the bias
// held in registers for the whole block. There is no reduction over channels,
// so the kernel is memory-bound (9 FMAs per 64 bytes written): one pass reads
// x once (the 3 input rows of an output row stay in L1) and writes y once,
// with the folded batch norm's bias and the activation in the same pass; a
// separate bias, batch-norm or ReLU6 pass would each cost as much again.
//
// Work: tasks of (image n, channel block, chunk of output rows), run on the
// threads (conv2d_nchwc_tile.h run_tasks). Each output is summed in the same
// order (bias, then the taps row by row) whatever the chunking and the thread
// count: results are bit-identical for any number of threads. Padding channels
// (past C in the last block) have zero weights and bias: they stay zero.
//
// The plain reference is ref::conv2d_forward with groups = C (cpu/conv2d.h);
// the training path's NCHW depthwise kernel is cpu/conv2d_depthwise.cpp.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/cpu/nchwc.h"  // Activation

namespace sn::cpu::nchwc {

struct PackedDepthwise {
  int64_t C = 0, stride = 1;
  std::shared_ptr<float> weights;  // (Cb, 9, 16): per block, tap (r,s) by tap, the 16 channels; zero past C
  std::shared_ptr<float> bias;     // (Cb*16), zero past C
};

// w (C,1,3,3), bias (C) or null; stride 1 or 2 (pad is always 1).
PackedDepthwise pack_depthwise(const float* w, const float* bias, int64_t C, int64_t stride);

// x (N, Cb, H, W, 16) -> y (N, Cb, P, Q, 16), P = (H - 1) / stride + 1 (out_size(H, 3, stride, 1)).
void depthwise3x3(const PackedDepthwise& pd, int64_t N, int64_t H, int64_t W, const float* x, float* y, Activation act);

}  // namespace sn::cpu::nchwc
