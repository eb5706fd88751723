// cpu/conv2d_winograd.h — 3x3, stride 1, pad 1 convolutions on the blocked
// layout by Winograd's minimal filtering F(m x m, 3x3), m = 2 or 4 (Lavin &
// Gray, 2015). Internal to cpu/conv2d_nchwc.cpp, which chooses it (ConvAlgo).
//
// Why: in ResNet-18 these convolutions are 75% of the multiply-adds (ResNet-50:
// 37%), and the direct kernel already runs them near the FMA peak, so only
// fewer multiplications make them faster. Each m x m output tile is computed
// from an a x a input tile d (a = m + 2) and the 3x3 filter g as
//
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A
//
// with a^2 products per tile and input channel instead of 9 m^2: F(2x2) 16
// instead of 36 (2.25x fewer), F(4x4) 36 instead of 144 (4x fewer). The sum
// over input channels runs between the transforms, as a^2 matrix products (one
// per position xi of the transformed tile):
//
//   M[xi](tiles, K) = V[xi](tiles, C) x U[xi](C, K),  V = B^T d B, U = G g G^T
//
// computed by the direct convolution's register-tile kernel (a 1x1 "conv"
// whose pixels are tiles). Per task (a block of tiles x one group of 64 output
// channels): transform the block's input tiles (V, in cache), a^2 products into
// a scratch M, then the output transform with bias, residual and ReLU into y.
//
// F(4x4) pays for its 4x with larger transforms (6x6 tiles, coefficients up to
// 8), partial tiles where 4 does not divide the map, and a U of 36/9 the
// weights, read from memory once per block of tiles: see tile_for.
//
// Accuracy: G's fractions (1/2; F(4x4): 1/4, 1/6, 1/12, 1/24) are applied in
// double when the weights are packed; the input and output transforms add at
// most 4 (F(2x2)) or 6 (F(4x4)) terms with coefficients 1, 2, 4, 5 and 8, so the
// float32 error grows by a constant factor over the direct sum: F(2x2) about
// 0.6x the direct kernel's on ResNet's shapes, F(4x4) a few times it (measured
// in tests/test_conv_nchwc.cpp, which holds all three to the same bound against
// a float64 reference). Each output's arithmetic does not depend on the
// blocking: bit-identical for any threads.
#pragma once
#include <cstdint>

#include "engine/cpu/nchwc.h"  // Activation

namespace sn::cpu::nchwc {
struct PackedConv;
}

namespace sn::cpu::nchwc::winograd {

// Whether Winograd serves this convolution (float32, blocked input).
bool applies(int64_t R, int64_t S, int64_t stride, int64_t pad, bool plain_input, bool bf16);

// The output tile that runs a P x Q output map (P = Q = the input size for a
// 3x3 stride-1 pad-1 conv): 4 for F(4x4) on maps of kMinMapF4 and more, 2 for
// F(2x2) on maps of 8x8 to kMinMapF4 - 1, 0 for the direct kernel. Measured (Zen 5,
// 2 threads, ms; F(4x4) against the better of F(2x2) and direct):
//   56x56 64>64    b1 0.28 vs 0.41   b7 2.0 vs 2.7   b32 8.2 vs 11.8
//   28x28 128>128  b1 0.27 vs 0.40   b7 1.9 vs 2.6   b32 8.3 vs 11.5
//   14x14 256>256  b1 0.34 vs 0.36   b7 2.3 vs 2.6   b32 9.1 vs 10.6
//   7x7 512>512    b1 1.19 vs 0.73   b2 1.47 vs 1.41   b5 2.08 vs 3.05   b32 11.2 vs 17.0
// Every tile multiplies all of U, so the batch's tile count is U's reuse: on
// 7x7 maps one image has 4 tiles and F(4x4) reads its 36/9 larger U (38 MB at
// 512 channels) for little work. It would win there from 5 images on; the choice
// does not look at the batch, though, so that an image's result never depends
// on the batch it came in (tests: a batch in chunks equals one pass, bit for bit).
constexpr int64_t kMinMapF4 = 14;
int tile_for(const PackedConv& pc, int64_t P, int64_t Q);

// Same contract as nchwc::conv2d (float32 only), by F(tile x tile, 3x3); tile
// from tile_for. Its U is packed by the first call that needs it: per group of
// 64 output channels, per xi (16 or 36), per input channel, the group's outputs.
void conv2d(const PackedConv& pc, int tile, int64_t N, int64_t H, int64_t W, const float* x, float* y, Activation act,
            bool accumulate);

}  // namespace sn::cpu::nchwc::winograd
