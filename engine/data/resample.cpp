#include "engine/data/resample.h"

#include <cmath>
#include <cstring>
#if defined(__SSE4_1__)
#include <immintrin.h>
#endif

#include "engine/check.h"

// Floating-point note: the weights must be computed with exactly PIL's double
// operations, in the same order, so no multiply-add may be fused into an FMA
// (GCC does not fuse in ISO mode, -std=c++17; clang is told here).
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace sn::data {

namespace {

constexpr int32_t kHalf = 1 << (kResamplePrecisionBits - 1);  // 0.5 in fixed point: sums round to nearest

// PIL's bilinear_filter: the triangle 1 - |x| on [-1, 1], support 1.
double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

// PIL's clip8: drop the 22 fraction bits (arithmetic shift = floor), clamp to a byte.
inline uint8_t clip8(int32_t sum) {
  const int32_t v = sum >> kResamplePrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

void check_args(const ImageView& in, int out_w, int out_h, const ResizeBox& b) {
  SN_CHECK(in.width > 0 && in.height > 0, "resize: the input image is empty (", in.width, "x", in.height, ")");
  SN_CHECK(out_w > 0 && out_h > 0, "resize: output size must be positive, got ", out_w, "x", out_h);
  SN_CHECK(b.x0 >= 0 && b.y0 >= 0, "resize: box offset can't be negative: (", b.x0, ", ", b.y0, ")");
  SN_CHECK(b.x1 <= in.width && b.y1 <= in.height, "resize: box (", b.x0, ", ", b.y0, ", ", b.x1, ", ", b.y1,
           ") exceeds the ", in.width, "x", in.height, " image");
  SN_CHECK(b.x1 > b.x0 && b.y1 > b.y0, "resize: box (", b.x0, ", ", b.y0, ", ", b.x1, ", ", b.y1, ") is empty");
}

}  // namespace

// Pillow's precompute_coeffs + normalize_coeffs_8bpc, same expressions in the same order.
ResampleCoeffs bilinear_coeffs(int in_size, float in0, float in1, int out_size) {
  const double filter_support = 1.0;
  double scale = static_cast<double>(in1 - in0) / out_size;  // in1 - in0 in float, as in PIL
  double filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;             // enlarging: plain interpolation, no widening
  const double support = filter_support * filterscale;  // shrinking by s: the triangle is s times wider
  ResampleCoeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0.0);
  c.fixed.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;  // output pixel center, in input coordinates
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // C truncation, then clamp: PIL's "round"
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double* k = &c.weights[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double w = bilinear_filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) k[x] /= ww;
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  for (size_t i = 0; i < c.weights.size(); ++i) {
    const double w = c.weights[i];
    c.fixed[i] = w < 0 ? static_cast<int32_t>(-0.5 + w * (1 << kResamplePrecisionBits))
                       : static_cast<int32_t>(0.5 + w * (1 << kResamplePrecisionBits));
  }
  return c;
}

// ---------------------------------------------------------------------------
// ref: Pillow's ImagingResampleInner / ImagingResample{Horizontal,Vertical}_8bpc
// for 3-band images, one pixel at a time.
namespace ref {

Image resize_bilinear(const ImageView& in, int out_w, int out_h, const ResizeBox& box) {
  check_args(in, out_w, out_h, box);
  const bool need_horizontal = out_w != in.width || box.x0 != 0 || box.x1 != out_w;
  const bool need_vertical = out_h != in.height || box.y0 != 0 || box.y1 != out_h;
  const ResampleCoeffs ch = bilinear_coeffs(in.width, box.x0, box.x1, out_w);
  ResampleCoeffs cv = bilinear_coeffs(in.height, box.y0, box.y1, out_h);

  // Only the input rows the vertical pass will read go through the horizontal pass.
  const int ybox_first = cv.first[0];
  const int ybox_last = cv.first[out_h - 1] + cv.count[out_h - 1];

  Image tmp;
  ImageView src = in;
  if (need_horizontal) {
    for (int& f : cv.first) f -= ybox_first;
    tmp = Image(out_w, ybox_last - ybox_first);
    for (int yy = 0; yy < tmp.height; ++yy) {
      const uint8_t* row = in.row(yy + ybox_first);
      for (int xx = 0; xx < out_w; ++xx) {
        const int32_t* k = &ch.fixed[static_cast<size_t>(xx) * ch.ksize];
        int32_t ss0 = kHalf, ss1 = kHalf, ss2 = kHalf;
        for (int x = 0; x < ch.count[xx]; ++x) {
          const uint8_t* p = row + (x + ch.first[xx]) * 3;
          ss0 += p[0] * k[x];
          ss1 += p[1] * k[x];
          ss2 += p[2] * k[x];
        }
        tmp.at(xx, yy, 0) = clip8(ss0);
        tmp.at(xx, yy, 1) = clip8(ss1);
        tmp.at(xx, yy, 2) = clip8(ss2);
      }
    }
    src = tmp;
  }
  Image out(src.width, need_vertical ? out_h : src.height);
  if (need_vertical) {
    for (int yy = 0; yy < out_h; ++yy) {
      const int32_t* k = &cv.fixed[static_cast<size_t>(yy) * cv.ksize];
      for (int xx = 0; xx < src.width; ++xx) {
        int32_t ss0 = kHalf, ss1 = kHalf, ss2 = kHalf;
        for (int y = 0; y < cv.count[yy]; ++y) {
          const uint8_t* p = src.row(y + cv.first[yy]) + xx * 3;
          ss0 += p[0] * k[y];
          ss1 += p[1] * k[y];
          ss2 += p[2] * k[y];
        }
        out.at(xx, yy, 0) = clip8(ss0);
        out.at(xx, yy, 1) = clip8(ss1);
        out.at(xx, yy, 2) = clip8(ss2);
      }
    }
  } else {
    for (int y = 0; y < out.height; ++y) std::memcpy(out.row(y), src.row(y), out.stride());  // PIL: ImagingCopy
  }
  return out;
}

}  // namespace ref

// ---------------------------------------------------------------------------
// cpu: the same sums, arranged for the vector units. Integer addition is
// associative, so any order gives PIL's exact result.
namespace cpu {

namespace {

// Horizontal pass over `rows` rows starting at input row `y0`: each output
// pixel is one 4-lane int32 sum (R, G, B, and a fourth lane that is ignored),
// so a tap costs one vector multiply-add. Loading 4 bytes per pixel reads one
// byte past a row's last pixel: inside the buffer for every row but the
// view's last, which is copied into a padded scratch row first.
#if defined(__SSE4_1__)
// x86: zero-extend 4 bytes to 4 int32 lanes (pmovzxbd), multiply-add, then
// shift, saturate to 0..255 and pack back to bytes (packs/packus = clip8).
inline void sum_taps(const uint8_t* p, const int32_t* k, int n, uint8_t* dst) {
  __m128i acc = _mm_set1_epi32(kHalf);
  for (int t = 0; t < n; ++t) {
    uint32_t four;
    std::memcpy(&four, p + 3 * t, 4);
    const __m128i px = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(static_cast<int>(four)));
    acc = _mm_add_epi32(acc, _mm_mullo_epi32(px, _mm_set1_epi32(k[t])));
  }
  acc = _mm_srai_epi32(acc, kResamplePrecisionBits);
  const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(acc, acc), acc);
  const uint32_t rgbx = static_cast<uint32_t>(_mm_cvtsi128_si32(bytes));
  std::memcpy(dst, &rgbx, 3);
}
#else
// Portable: GCC/clang vector extension, four int32 lanes.
typedef int32_t v4i __attribute__((vector_size(16)));
inline void sum_taps(const uint8_t* p, const int32_t* k, int n, uint8_t* dst) {
  v4i acc = {kHalf, kHalf, kHalf, kHalf};
  for (int t = 0; t < n; ++t) {
    const uint8_t* q = p + 3 * t;
    acc += v4i{q[0], q[1], q[2], q[3]} * k[t];
  }
  dst[0] = clip8(acc[0]);
  dst[1] = clip8(acc[1]);
  dst[2] = clip8(acc[2]);
}
#endif

void horizontal_pass(const ImageView& in, int y0, int rows, const ResampleCoeffs& c, Image& out) {
  std::vector<uint8_t> padded(static_cast<size_t>(in.width) * 3 + 1, 0);
  const int out_w = out.width;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = in.row(y0 + y);
    if (y0 + y == in.height - 1) {
      std::memcpy(padded.data(), src, static_cast<size_t>(in.width) * 3);
      src = padded.data();
    }
    uint8_t* dst = out.row(y);
    for (int xx = 0; xx < out_w; ++xx)
      sum_taps(src + c.first[xx] * 3, &c.fixed[static_cast<size_t>(xx) * c.ksize], c.count[xx], dst + 3 * xx);
  }
}

// Vertical pass: output row yy is a weighted sum of whole input rows, so the
// inner loop runs along a row of bytes and the compiler vectorizes it.
void vertical_pass(const ImageView& in, const ResampleCoeffs& c, Image& out) {
  const size_t n = static_cast<size_t>(in.width) * 3;
  std::vector<int32_t> acc(n);
  for (int yy = 0; yy < out.height; ++yy) {
    const int32_t* k = &c.fixed[static_cast<size_t>(yy) * c.ksize];
    int32_t* a = acc.data();
    for (size_t i = 0; i < n; ++i) a[i] = kHalf;
    for (int t = 0; t < c.count[yy]; ++t) {
      const uint8_t* r = in.row(c.first[yy] + t);
      const int32_t kt = k[t];
      for (size_t i = 0; i < n; ++i) a[i] += r[i] * kt;
    }
    uint8_t* dst = out.row(yy);
    for (size_t i = 0; i < n; ++i) dst[i] = clip8(a[i]);
  }
}

}  // namespace

Image resize_bilinear(const ImageView& in, int out_w, int out_h, const ResizeBox& box) {
  check_args(in, out_w, out_h, box);
  const bool need_horizontal = out_w != in.width || box.x0 != 0 || box.x1 != out_w;
  const bool need_vertical = out_h != in.height || box.y0 != 0 || box.y1 != out_h;
  const ResampleCoeffs cv = bilinear_coeffs(in.height, box.y0, box.y1, out_h);
  const int ybox_first = cv.first[0];
  const int ybox_last = cv.first[out_h - 1] + cv.count[out_h - 1];

  Image tmp;
  ImageView src = in;
  int row_shift = 0;  // the temporary image starts at input row ybox_first
  if (need_horizontal) {
    const ResampleCoeffs ch = bilinear_coeffs(in.width, box.x0, box.x1, out_w);
    tmp = Image(out_w, ybox_last - ybox_first);
    horizontal_pass(in, ybox_first, tmp.height, ch, tmp);
    src = tmp;
    row_shift = ybox_first;
  }
  Image out(src.width, need_vertical ? out_h : src.height);
  if (need_vertical) {
    ResampleCoeffs shifted = cv;
    for (int& f : shifted.first) f -= row_shift;
    vertical_pass(src, shifted, out);
  } else {
    for (int y = 0; y < out.height; ++y) std::memcpy(out.row(y), src.row(y), out.stride());
  }
  return out;
}

}  // namespace cpu

}  // namespace sn::data
