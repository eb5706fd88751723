// resample.h — PIL's bilinear resize, bit for bit (Pillow's libImaging/Resample.c).
//
// torchvision resizes PIL images with Image.resize(size, BILINEAR), which is
// not textbook bilinear interpolation: it is a separable convolution with a
// triangle filter whose support grows with the shrink factor, so a 4x shrink
// averages about 8 input pixels per output pixel instead of sampling 2
// (antialiasing). Preprocessing that differs changes what a pretrained
// network sees, so this file copies PIL's arithmetic exactly:
//   1. per output pixel, the taps and double-precision weights of the triangle
//      filter, normalized to sum 1 (precompute_coeffs);
//   2. weights rounded to fixed point with 22 fractional bits (PRECISION_BITS
//      = 32 - 8 - 2: 8 bits of pixel, 2 of headroom);
//   3. a horizontal pass into an 8-bit temporary image, then a vertical pass,
//      each sum started at 0.5 (1 << 21), shifted right by 22 and clamped to 0..255.
// The rounding to 8 bits between the passes is part of PIL's result, so the
// order (horizontal first) matters.
//
// `ref::` is a line-by-line transcription for reading and testing; `cpu::` is
// the fast path (same integers, reorganized loops: 4-lane vector sums for the
// horizontal pass, row-wise accumulation for the vertical pass). Both give
// identical bytes (tests/test_data_resample.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/data/image.h"

namespace sn::data {

constexpr int kResamplePrecisionBits = 22;  // PIL's PRECISION_BITS

// A read-only window of an Image (a crop without a copy): rows are `stride` bytes apart.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0, height = 0;
  size_t stride = 0;
  ImageView() = default;
  ImageView(const Image& img) : data(img.pixels.data()), width(img.width), height(img.height), stride(img.stride()) {}
  const uint8_t* row(int y) const { return data + static_cast<size_t>(y) * stride; }
};

// The filter of one 1-D pass from `in_size` pixels to `out_size`, over the
// input interval [in0, in1) (PIL's `box`; [0, in_size) for a plain resize).
struct ResampleCoeffs {
  int ksize = 0;                // coefficient slots per output pixel (>= the most taps used)
  std::vector<int> first;       // out_size: first input pixel of each output's taps
  std::vector<int> count;       // out_size: how many taps
  std::vector<double> weights;  // out_size * ksize: normalized triangle weights (sum 1)
  std::vector<int32_t> fixed;   // out_size * ksize: weights * 2^22, rounded half away from zero
};
ResampleCoeffs bilinear_coeffs(int in_size, float in0, float in1, int out_size);

// The input region to resize, [x0, x1) x [y0, y1) in pixels (PIL's `box`,
// floats). The resize functions throw sn::Error on an empty output size or a
// box that is empty or outside the image.
struct ResizeBox {
  float x0, y0, x1, y1;
};

namespace ref {
Image resize_bilinear(const ImageView& in, int out_w, int out_h, const ResizeBox& box);
}  // namespace ref

namespace cpu {
Image resize_bilinear(const ImageView& in, int out_w, int out_h, const ResizeBox& box);
}  // namespace cpu

// The whole input: box (0, 0, width, height).
inline ResizeBox full_box(const ImageView& in) {
  return {0.f, 0.f, static_cast<float>(in.width), static_cast<float>(in.height)};
}

}  // namespace sn::data
