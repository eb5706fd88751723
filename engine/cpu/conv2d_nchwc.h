// cpu/conv2d_nchwc.h — direct convolution on the blocked layout (cpu/nchwc.h),
// the convolution of the frozen-inference path (models/fused_resnet.h).
//
//   y[n,k,p,q] = bias[k] + sum_{c,r,s} w[k,c,r,s] * x[n, c, p*stride - pad + r, q*stride - pad + s]
//
// Why not the GEMM with implicit im2col (cpu/conv2d_fast.h): there each packed
// value of x is used by only K rows, so layers with 64-128 output channels
// spend a fifth of their time packing, and stride 2 needs permutes. Here x is
// never packed. A register tile holds M output pixels x 64 output channels
// (M x 4 vectors); for each input channel c of each filter tap (r,s) the
// kernel loads the 4 weight vectors w[k0..k0+64, c, r, s] and, per pixel,
// broadcasts one input value and does 4 FMAs. In the blocked layout the 16
// channels of a tap sit side by side, so a tap is 16 steps with constant
// address offsets. The pixels of a tile are any M consecutive output pixels of
// the batch (they may cross rows and images), so 7x7 maps waste no lanes.
// Taps that fall into the zero padding read a zero vector instead.
//
// Weights are packed once (PackedConv) into the order the kernel reads them:
// per group of 64 output channels, tap by tap, 16 input channels, 64 outputs.
//
// The first conv of a network reads a plain (N,C,H,W) image instead (C = 3):
// there a "tap" is (c, r) and the inner steps run along the S filter columns,
// which sit side by side in a row of x. The caller pads that image (pad_plain)
// so no tap ever falls outside.
//
// Each output is summed over (c, r, s) in a fixed order whatever the thread
// count: results are bit-identical for any number of threads.
#pragma once
#include <cstdint>
#include <memory>

namespace sn::cpu::nchwc {

struct PackedConv {
  int64_t K = 0, C = 0, R = 0, S = 0, stride = 1, pad = 0;
  bool plain_input = false;  // x is (N,C,H+2pad,W+2pad), padded by pad_plain; else blocked
  std::shared_ptr<float> weights;  // 64-byte aligned, see above
  std::shared_ptr<float> bias;     // Kb*16, zero past K
  int64_t out_blocks() const { return (K + 15) / 16; }
};

// w (K,C,R,S), bias (K) or null.
PackedConv pack_conv(const float* w, const float* bias, int64_t K, int64_t C, int64_t R, int64_t S, int64_t stride,
                     int64_t pad, bool plain_input);

// Output size of one spatial axis.
inline int64_t out_size(int64_t in, int64_t R, int64_t stride, int64_t pad) { return (in + 2 * pad - R) / stride + 1; }

// x: blocked (N, Cb, H, W, 16), or for plain_input (N, C, H+2pad, W+2pad) from pad_plain.
// H and W are the unpadded input sizes. y: blocked (N, Kb, P, Q, 16):
//   y = [max(0,] conv(x) + bias [+ y] [)]   (+ y: accumulate, a residual held in y)
void conv2d(const PackedConv& pc, int64_t N, int64_t H, int64_t W, const float* x, float* y, bool relu,
            bool accumulate);

// x (N,C,H,W) -> xp (N,C,H+2pad,W+2pad), zeros around.
void pad_plain(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t pad, float* xp);

}  // namespace sn::cpu::nchwc
