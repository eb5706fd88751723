// cpu/conv2d_nchwc.h — direct convolution on the blocked layout (cpu/nchwc.h),
// the convolution of the frozen-inference path (models/fused_resnet.h).
//
//   y[n,k,p,q] = bias[k] + sum_{c,r,s} w[k,c,r,s] * x[n, c, p*stride - pad + r, q*stride - pad + s]
//
// Why not the GEMM with implicit im2col (cpu/conv2d_forward.h): there each packed
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
#include <mutex>

#include "engine/cpu/nchwc.h"  // Activation

namespace sn::cpu::nchwc {

// Auto: Winograd for float32 3x3 stride-1 pad-1 convolutions (cpu/conv2d_winograd.h):
// F(4x4,3x3) on output maps of 14x14 and more (4x fewer multiplications than
// the direct sum), F(2x2,3x3) on maps of 8x8 to 13x13 (2.25x fewer), the direct
// kernel on smaller maps and every other conv; winograd::tile_for has the rule
// and its measurements.
// Direct: always the direct kernel. WinogradF2: Auto without F(4x4) (what Auto
// was before it; the tests compare all three, bench_nchwc times them).
enum class ConvAlgo { Auto, Direct, WinogradF2 };

// Weights packed on first use, once (thread-safe): Winograd's U is 16/9
// (F(2x2)) or 36/9 (F(4x4)) of the weights, so each is made only for the
// convolutions that really run with it (ResNet at 224x224: F(4x4) on its
// 56x56, 28x28 and 14x14 maps, no U at all for the 7x7 ones).
struct LazyPacking {
  std::once_flag once;
  std::shared_ptr<float> weights;
};

struct PackedConv {
  int64_t K = 0, C = 0, R = 0, S = 0, stride = 1, pad = 0;
  bool plain_input = false;                // x is (N,C,H+2pad,W+2pad), padded by pad_plain; else blocked
  bool bf16 = false;                       // weights (and x) in bfloat16, see conv2d
  bool winograd = false;                   // Auto or WinogradF2 chose Winograd (3x3 stride 1 pad 1, float32)
  std::shared_ptr<float> weights;          // float32: 64-byte aligned, see above (the direct kernel's)
  std::shared_ptr<LazyPacking> winograd2;  // F(2x2)'s U = G g G^T, packed from `weights` on first use
  std::shared_ptr<LazyPacking> winograd4;  // F(4x4)'s U, the same way (Auto only)
  std::shared_ptr<uint16_t> weights_bf16;  // bfloat16: the same order, channels in pairs
  std::shared_ptr<float> bias;             // Kb*16, zero past K (always float32)
  int64_t out_blocks() const { return (K + 15) / 16; }
};

// w (K,C,R,S), bias (K) or null. bf16: weights rounded to bfloat16 (nearest
// even) for the bfloat16 kernels; needs blocked input and bf16_supported().
PackedConv pack_conv(const float* w, const float* bias, int64_t K, int64_t C, int64_t R, int64_t S, int64_t stride,
                     int64_t pad, bool plain_input, bool bf16 = false, ConvAlgo algo = ConvAlgo::Auto);

// Output size of one spatial axis.
inline int64_t out_size(int64_t in, int64_t R, int64_t stride, int64_t pad) { return (in + 2 * pad - R) / stride + 1; }

// x: blocked (N, Cb, H, W, 16), or for plain_input (N, C, H+2pad, W+2pad) from pad_plain.
// H and W are the unpadded input sizes. y: blocked (N, Kb, P, Q, 16):
//   y = act(conv(x) + bias [+ y])   (+ y: accumulate, a residual held in y; act: Activation)
// Element types: float32, or with pc.bf16 a bfloat16 x (uint16_t) and y in
// bfloat16 (out_bf16, also the residual) or float32. bfloat16 products are
// summed in float32 (vdpbf16ps), two input channels per instruction.
void conv2d(const PackedConv& pc, int64_t N, int64_t H, int64_t W, const void* x, void* y, Activation act,
            bool accumulate, bool out_bf16 = false);

// Whether the bfloat16 kernels can run here: compiled with AVX512_BF16 and
// the CPU has it (checked at run time).
bool bf16_supported();

// x (N,C,H,W) -> xp (N,C,H+2pad,W+2pad), zeros around.
void pad_plain(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t pad, float* xp);

}  // namespace sn::cpu::nchwc
