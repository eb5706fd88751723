// cpu/nchwc.h — the blocked activation layout of the CPU inference path, and
// the layout's own small ops (conversion, max pooling, global average pooling).
//
// NCHW16c: a (N,C,H,W) activation is stored as (N, Cb, H, W, 16) with
// Cb = ceil(C/16): the 16 channels of one pixel are one AVX-512 vector, so a
// convolution broadcasts one input value and multiplies it by 16 output
// channels' weights with one FMA, with no im2col and no transpose
// (engine/cpu/conv2d_nchwc.h). Channels past C in the last block are zero,
// and every op of this layout keeps them zero.
#pragma once
#include <cstdint>

namespace sn::cpu::nchwc {

constexpr int64_t kBlock = 16;
inline int64_t blocks(int64_t channels) { return (channels + kBlock - 1) / kBlock; }

// The activation a kernel of this layout applies to its result before storing
// it (the conv epilogue): none, max(0, v), or min(max(0, v), 6) (MobileNetV2's
// ReLU6, as PyTorch's hardtanh(0, 6)). Both keep zero padding channels zero.
enum class Activation { None, ReLU, ReLU6 };

// bfloat16 as stored here: the top 16 bits of a float32, rounded to nearest
// even (NaN stays NaN). The CPU's own conversion (vcvtneps2bf16) rounds alike.
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // quiet NaN
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float bf16_to_float(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
// x (N,Cb,HW,16) float32 <-> bfloat16, n = N*Cb*HW*16 elements.
void to_bf16(const float* x, int64_t n, uint16_t* y);
void from_bf16(const uint16_t* x, int64_t n, float* y);

// x (N,C,HW) -> y (N,Cb,HW,16), padding channels zeroed; and back.
void to_blocked(const float* x, int64_t N, int64_t C, int64_t HW, float* y);
void from_blocked(const float* x, int64_t N, int64_t C, int64_t HW, float* y);

// Max pooling, square window, zero-padded input positions never win
// (they are skipped, as in PyTorch): x (N,Cb,H,W,16) -> y (N,Cb,P,Q,16).
void max_pool2d(const float* x, int64_t N, int64_t Cb, int64_t H, int64_t W, int kernel, int stride, int pad, float* y);

// Global average pooling: x (N,Cb,HW,16) -> y (N,C) (the first C channels);
// the bfloat16 version sums in float32.
void global_avg_pool(const float* x, int64_t N, int64_t C, int64_t HW, float* y);
void global_avg_pool(const uint16_t* x, int64_t N, int64_t C, int64_t HW, float* y);

// Batch-norm statistics (training mode) of x (N,Cb,HW,16), mergeable: per
// channel c < C, mean[c] and m2[c] (the sum of squared deviations from the
// mean) cover `before` images already seen (0: none yet; then they are
// overwritten) and are updated to cover these N as well. The biased variance
// of all images so far is m2 / (images * HW). Each image's plane is summed in
// float, then its squared deviations from its own mean (the plane is still in
// cache); planes are merged one by one in double (Chan et al.'s update), one
// channel block per task, so the result depends neither on the threads nor on
// how the images were split into calls.
void batch_stats(const float* x, int64_t N, int64_t C, int64_t HW, int64_t before, double* mean, double* m2);

// In place: x = [max(0,] x * scale[c] + shift[c] [+ residual] [)], scale and
// shift of Cb*16 entries (zero past C keeps padding channels zero);
// residual (N,Cb,HW,16) or null.
void scale_shift(float* x, int64_t N, int64_t Cb, int64_t HW, const float* scale, const float* shift,
                 const float* residual, bool relu);
// The same, out of place into bfloat16, with a bfloat16 residual or null.
void scale_shift_bf16(const float* x, int64_t N, int64_t Cb, int64_t HW, const float* scale, const float* shift,
                      const uint16_t* residual, bool relu, uint16_t* y);

}  // namespace sn::cpu::nchwc
