// cpu/conv2d_backward.cpp — the fast convolution backward (cpu::, engine/cpu/conv2d.h):
// the input, weight and bias gradients by im2col + GEMM, or, for the stride-1 input
// gradient, as a convolution of dy on the forward's implicit-im2col GEMM.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_forward.h"
#include "engine/cpu/conv2d_im2col.h"
#include "engine/cpu/gemm/gemm.h"
#include "engine/host_allocator.h"
#include "engine/parallel.h"

namespace sn::cpu {

// Per image n, with col_n = im2col(x_n) of shape (C*R*S, P*Q) and W seen as (K, C*R*S):
//   backward input   dx_n = col2im(W^T · dy_n)   (stride 1: a convolution of dy, see there)
//   backward weight  dW   (K, C*R*S)   = sum_n dy_n · col_n^T
// A 1x1, stride-1, unpadded conv needs no im2col: x_n already is (C, H*W).
// Small maps put several images side by side in one backward GEMM (images_per_gemm).
// Threads: over images (or image groups) when N > 1, over GEMM tiles (and im2col
// channels) when N == 1. Each schedule runs the same arithmetic per output
// element, so results do not depend on the thread count.
namespace {
bool is_pointwise(const Conv2dShape& s) { return s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0; }

// Scratch buffers per thread (two: an im2col matrix and a gathered dy), reused
// across calls (im2col matrices are MBs).
float* scratch(size_t n, int which = 0) {
  static thread_local std::vector<float> buf[2];
  if (buf[which].size() < n) buf[which].resize(n);
  return buf[which].data();
}

// Small feature maps (layer4's 7x7: P*Q = 49) make per-image GEMMs with one side
// only 49 wide: the 48-column GEMM tiles run half empty (49 = 48 + 1) and, for dW,
// the whole (K, C*R*S) result is read and written again for every image. So the
// backward passes take images_per_gemm() images at a time, their columns side by
// side (at least ~384 columns); from 384 columns on (20x20 maps and up) it is 1.
constexpr int64_t kMinColumns = 384;
int64_t images_per_gemm(const Conv2dShape& s) {
  const int64_t PQ = s.P * s.Q;
  return std::max<int64_t>(1, std::min<int64_t>(s.N, (kMinColumns + PQ - 1) / PQ));
}
// Images n0, n0 + step, ... (b of them) of a (N, rows, PQ) tensor side by side
// as one (rows, b*PQ) matrix: row r = [src_n0[r], src_(n0+step)[r], ...].
void gather_images(const float* src, int64_t rows, int64_t PQ, int64_t n0, int64_t step, int64_t b, float* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < b; ++i) std::copy_n(src + ((n0 + i * step) * rows + r) * PQ, PQ, out + (r * b + i) * PQ);
}
// The inverse, for images n0 .. n0+b-1: dst_n[r] = columns [i*PQ, (i+1)*PQ) of row r of m.
void scatter_images(const float* m, int64_t rows, int64_t PQ, int64_t n0, int64_t b, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < b; ++i) std::copy_n(m + (r * b + i) * PQ, PQ, dst + ((n0 + i) * rows + r) * PQ);
}
}  // namespace

void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, HW = s.H * s.W;
  const bool one_image = s.N == 1;
  const bool pointwise = is_pointwise(s);
  if (!pointwise && s.stride == 1 && s.R == s.S && s.pad <= s.R - 1 && s.N * PQ >= kMinColumns) {
    // Stride 1 (the 3x3 layers): dx is itself a convolution, of dy with the
    // weights flipped in space and input/output channels swapped, padding R-1-pad:
    //   dx[n,c,h,v] = sum_{k,r,t} dy[n, k, h-(R-1-pad)+r, v-(R-1-pad)+t] * w[k, c, R-1-r, S-1-t]
    // so it runs on the forward's implicit-im2col GEMM over the whole batch: no
    // dcol matrix, no col2im pass: faster on every ResNet 3x3 shape, but only with
    // 384+ output columns in all; a lone 7x7 map is slower this way (timings in
    // docs/PERFORMANCE.md, "Measurements behind the code").
    // So for maps under 384 pixels an image's dx alone and inside a large enough
    // batch can differ by float rounding (same math, other summation order).
    const int64_t RS = s.R * s.S;
    float* wt = scratch(static_cast<size_t>(s.C * s.K * RS));  // (C, K, R, S)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t c = 0; c < s.C; ++c)
        for (int64_t rs = 0; rs < RS; ++rs) wt[(c * s.K + k) * RS + (RS - 1 - rs)] = w[(k * s.C + c) * RS + rs];
    const Conv2dShape t{s.N, s.K, s.P, s.Q, s.C, s.R, s.S, 1, s.R - 1 - s.pad, s.H, s.W};
    conv2d_forward_gemm(t, dy, wt, nullptr, dx);
    return;
  }
  // Images n0 .. n0+b-1 together: dcol (CRS, b*PQ) = W^T dy_b, then col2im of each
  // image's columns. A column of dcol is the same dot products whatever its
  // neighbours, so each image's dx does not depend on the grouping.
  // A 1x1 conv needs no col2im: dcol already is dx's layout, so one image's GEMM
  // writes dx_n (C, HW) = W^T dy_n directly, and a group's columns are copied
  // out (on small maps faster than one GEMM per image: docs/PERFORMANCE.md).
  const int64_t B = images_per_gemm(s);
  auto group = [&](int64_t n0) {
    const int64_t b = std::min(B, s.N - n0), ld = b * PQ;
    if (pointwise && b == 1) {
      sgemm(true, false, s.C, PQ, s.K, w, CRS, dy + n0 * s.K * PQ, PQ, 0.f, dx + n0 * s.C * HW, PQ);
      return;
    }
    const float* dyb = dy + n0 * s.K * PQ;
    if (b > 1) {
      float* gathered = scratch(static_cast<size_t>(s.K * ld), 1);
      gather_images(dy, s.K, PQ, n0, 1, b, gathered);
      dyb = gathered;
    }
    float* dcol = scratch(static_cast<size_t>(CRS * ld));
    sgemm(true, false, CRS, ld, s.K, w, CRS, dyb, ld, 0.f, dcol, ld);
    if (pointwise) {
      scatter_images(dcol, s.C, PQ, n0, b, dx);
      return;
    }
    for (int64_t i = 0; i < b; ++i) {
      float* dxn = dx + (n0 + i) * s.C * HW;
      const float* coln = dcol + i * PQ;
      std::fill_n(dxn, s.C * HW, 0.f);
      if (one_image)  // each channel's dx plane is written by its own rows of dcol only: no races
        parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) { col2im_channels(s, coln, dxn, c0, c1, ld); });
      else
        col2im_channels(s, coln, dxn, 0, s.C, ld);
    }
  };
  if (one_image) {
    group(0);
  } else {
#pragma omp parallel for schedule(dynamic)
    for (int64_t n0 = 0; n0 < s.N; n0 += B) group(n0);
  }
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, HW = s.H * s.W;
  const bool pointwise = is_pointwise(s);
  if (s.N == 1) {
    const float* col = x;
    if (!pointwise) {
      float* buf = scratch(static_cast<size_t>(CRS * PQ));
      parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) { im2col_channels(s, x, buf, c0, c1, PQ); });
      col = buf;
    }
    if (s.K <= 128 && s.K < CRS) {
      // Few output channels (64 or 128) against a wide C*R*S: computed as
      // dW^T (CRS, K) = col dy^T, then transposed. With only K rows the GEMM
      // splits its CRS columns into few, uneven chunks over the threads, each
      // packing its own transposed slice of col; with CRS rows it splits rows
      // evenly and packs only dy (timings in docs/PERFORMANCE.md).
      float* dwt = scratch(static_cast<size_t>(s.K * CRS), 1);
      sgemm(false, true, CRS, s.K, PQ, col, PQ, dy, PQ, 0.f, dwt, s.K);
      for (int64_t k = 0; k < s.K; ++k)
        for (int64_t i = 0; i < CRS; ++i) dw[k * CRS + i] = dwt[i * s.K + k];
    } else {
      sgemm(false, true, s.K, CRS, PQ, dy, PQ, col, PQ, 0.f, dw, CRS);
    }
    return;
  }
  // Sum over the batch without races and in a fixed order: G groups (G from N
  // only, never from the thread count) each accumulate their images n = g,
  // g+G, ... into a private partial dW; the partials are then added in order.
  // A group takes its images B at a time (B = images_per_gemm, from the sizes
  // only): their im2col columns (or, 1x1, their x planes) side by side make
  // one GEMM of B*P*Q-long dot products.
  // Group 0 sums into dw itself, groups 1..G-1 into a buffer from the host
  // allocator's cache (ResNet-50's layer4: 3 x 9.4 MB): a std::vector here was
  // mapped, page-faulted and zero-filled again on every call.
  const int64_t G = std::min<int64_t>(s.N, 4), KCRS = s.K * CRS, B = images_per_gemm(s);
  const size_t partial_bytes = static_cast<size_t>((G - 1) * KCRS) * sizeof(float);
  std::unique_ptr<float, std::function<void(float*)>> partial(
      static_cast<float*>(host_alloc(partial_bytes)), [partial_bytes](float* p) { host_free(p, partial_bytes); });
#pragma omp parallel for schedule(dynamic)
  for (int64_t g = 0; g < G; ++g) {
    float* part = g == 0 ? dw : partial.get() + (g - 1) * KCRS;
    const int64_t count = (s.N - g + G - 1) / G;  // images g, g+G, ..., g+(count-1)*G
    for (int64_t i0 = 0; i0 < count; i0 += B) {
      const int64_t b = std::min(B, count - i0), ld = b * PQ, n0 = g + i0 * G;
      const float* col = x + n0 * s.C * HW;  // pointwise, one image: x_n already is (C, HW)
      const float* dyb = dy + n0 * s.K * PQ;
      if (pointwise && b > 1) {
        float* buf = scratch(static_cast<size_t>(CRS * ld));
        gather_images(x, s.C, PQ, n0, G, b, buf);
        col = buf;
      } else if (!pointwise) {
        float* buf = scratch(static_cast<size_t>(CRS * ld));
        for (int64_t i = 0; i < b; ++i) im2col_channels(s, x + (n0 + i * G) * s.C * HW, buf + i * PQ, 0, s.C, ld);
        col = buf;
      }
      if (b > 1) {
        float* gathered = scratch(static_cast<size_t>(s.K * ld), 1);
        gather_images(dy, s.K, PQ, n0, G, b, gathered);
        dyb = gathered;
      }
      sgemm(false, true, s.K, CRS, ld, dyb, ld, col, ld, i0 != 0 ? 1.f : 0.f, part, CRS);
    }
  }
  parallel_for(0, KCRS, 1 << 14, [&](int64_t b, int64_t e) {
    const float* part = partial.get();
    for (int64_t i = b; i < e; ++i) {
      float acc = dw[i];
      for (int64_t g = 1; g < G; ++g) acc += part[(g - 1) * KCRS + i];
      dw[i] = acc;
    }
  });
}

void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db) {
  const int64_t PQ = s.P * s.Q;
  parallel_for(0, s.K, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      double acc = 0;  // double: sums of N*P*Q values stay accurate to float rounding
      for (int64_t n = 0; n < s.N; ++n) {
        const float* plane = dy + (n * s.K + k) * PQ;
        float part = 0;
#pragma omp simd reduction(+ : part)
        for (int64_t i = 0; i < PQ; ++i) part += plane[i];
        acc += part;
      }
      db[k] = static_cast<float>(acc);
    }
  });
}
}  // namespace sn::cpu
