// cpu/conv2d_winograd.h — 3x3, stride 1, pad 1 convolutions on the blocked
// layout by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2015).
// Internal to cpu/conv2d_nchwc.cpp, which chooses it (PackedConv::winograd).
//
// Why: in ResNet-18 these convolutions are 75% of the multiply-adds (ResNet-50:
// 37%), and the direct kernel already runs them near the FMA peak, so only
// fewer multiplications make them faster. Each 2x2 output tile is computed from
// a 4x4 input tile d and the 3x3 filter g as
//
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A
//
// with 16 products per tile and input channel instead of 36: 2.25x fewer.
// The sum over input channels runs between the transforms, as 16 matrix
// products (one per position xi of the 4x4 transformed tile):
//
//   M[xi](tiles, K) = V[xi](tiles, C) x U[xi](C, K),  V = B^T d B, U = G g G^T
//
// computed by the direct convolution's register-tile kernel (a 1x1 "conv"
// whose pixels are tiles). Per task (a block of tiles x one group of 64 output
// channels): transform the block's input tiles (V, in cache), 16 products into
// a scratch M, then the output transform with bias, residual and ReLU into y.
//
// Accuracy: the transforms add and subtract at most 4 terms with coefficients
// 1 and 1/2 (G's 1/2 is folded into U, computed in double), so the error grows
// by a small constant factor over the direct sum; tests/test_conv_nchwc.cpp
// holds both to the same bound against a float64 reference. Each output's
// arithmetic does not depend on the blocking: bit-identical for any threads.
#pragma once
#include <cstdint>

#include "engine/cpu/nchwc.h"  // Activation

namespace sn::cpu::nchwc {
struct PackedConv;
}

namespace sn::cpu::nchwc::winograd {

// Whether F(2x2,3x3) serves this convolution (float32, blocked input).
bool applies(int64_t R, int64_t S, int64_t stride, int64_t pad, bool plain_input, bool bf16);

// Whether it beats the direct kernel on a P x Q output map (see ConvAlgo):
// maps of at least 8x8 (P = Q = 3x3 stride-1 pad-1 output = input size).
inline bool worthwhile(int64_t P, int64_t Q) { return P >= 8 && Q >= 8; }

// Fills pc.winograd_weights with U = G g G^T in the kernel's order: per group of 64
// output channels, per xi (16), per input channel, the group's outputs.
void pack(const float* w, PackedConv& pc);

// Same contract as nchwc::conv2d (float32 only).
void conv2d(const PackedConv& pc, int64_t N, int64_t H, int64_t W, const float* x, float* y, Activation act,
            bool accumulate);

}  // namespace sn::cpu::nchwc::winograd
