#include "engine/cpu/conv2d.h"

#include <algorithm>
#include <vector>

#include "engine/cpu/conv2d_fast.h"
#include "engine/cpu/gemm.h"
#include "engine/parallel.h"

namespace sn {

// ---- reference: the definition, one multiply-add at a time ---------------------
namespace ref {
template <typename T> void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          T acc = bias ? bias[k] : T(0);
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;  // zero padding
                acc += x[((n * s.C + c) * s.H + h) * s.W + v] * w[((k * s.C + c) * s.R + r) * s.S + t];
              }
          y[((n * s.K + k) * s.P + p) * s.Q + q] = acc;
        }
}

// dx[n,c,h,v] = sum over every (k,p,q,r,t) where x[n,c,h,v] was read, of dy * w.
template <typename T> void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  std::fill_n(dx, s.N * s.C * s.H * s.W, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const T g = dy[((n * s.K + k) * s.P + p) * s.Q + q];
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                dx[((n * s.C + c) * s.H + h) * s.W + v] += g * w[((k * s.C + c) * s.R + r) * s.S + t];
              }
        }
}

// dw[k,c,r,t] = sum over (n,p,q) of dy[n,k,p,q] * the x value it multiplied.
template <typename T> void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  std::fill_n(dw, s.K * s.C * s.R * s.S, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const T g = dy[((n * s.K + k) * s.P + p) * s.Q + q];
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                dw[((k * s.C + c) * s.R + r) * s.S + t] += g * x[((n * s.C + c) * s.H + h) * s.W + v];
              }
        }
}

template <typename T> void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db) {
  for (int64_t k = 0; k < s.K; ++k) {
    T acc = 0;
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < s.P * s.Q; ++i) acc += dy[(n * s.K + k) * s.P * s.Q + i];
    db[k] = acc;
  }
}

#define SN_INSTANTIATE(T)                                                                    \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);     \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);        \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);       \
  template void conv2d_backward_bias<T>(const Conv2dShape&, const T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

// ---- fast: im2col + GEMM ----------------------------------------------------------
// Per image n, with col_n = im2col(x_n) of shape (C*R*S, P*Q) and W seen as (K, C*R*S):
//   forward          y_n  (K, P*Q)     = W · col_n                 (+ bias per row)
//   backward input   dx_n = col2im(W^T · dy_n)
//   backward weight  dW   (K, C*R*S)   = sum_n dy_n · col_n^T
// A 1x1, stride-1, unpadded conv needs no im2col: x_n already is (C, H*W).
// Threads: over images when N > 1, over GEMM tiles (and im2col channels) when
// N == 1. Both schedules run the very same per-image arithmetic, so results do
// not depend on the thread count, nor on the batch an image comes in.
namespace cpu {
namespace {
bool is_pointwise(const Conv2dShape& s) { return s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0; }

// im2col of channels [c0, c1) only (so a single image can be split over threads).
void im2col_channels(const Conv2dShape& s, const float* x, float* col, int64_t c0, int64_t c1) {
  const int64_t PQ = s.P * s.Q;
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        float* row = col + ((c * s.R + r) * s.S + t) * PQ;
        // Output columns q whose input column v = q*stride - pad + t lies inside [0, W).
        const int64_t off = t - s.pad;
        const int64_t q0 = std::min(s.Q, std::max<int64_t>(0, (-off + s.stride - 1) / s.stride));
        const int64_t q1 = std::max(q0, std::min(s.Q, (s.W - off + s.stride - 1) / s.stride));
        for (int64_t p = 0; p < s.P; ++p) {
          float* dst = row + p * s.Q;
          const int64_t h = p * s.stride - s.pad + r;
          if (h < 0 || h >= s.H) {
            std::fill_n(dst, s.Q, 0.f);
            continue;
          }
          const float* src = x + (c * s.H + h) * s.W;  // input row h; column q reads src[q*stride + off]
          std::fill_n(dst, q0, 0.f);
          if (s.stride == 1) {
            if (q1 > q0) std::copy(src + q0 + off, src + q1 + off, dst + q0);
          } else {
            for (int64_t q = q0; q < q1; ++q) dst[q] = src[q * s.stride + off];
          }
          std::fill(dst + q1, dst + s.Q, 0.f);
        }
      }
}

void col2im_channels(const Conv2dShape& s, const float* col, float* dx, int64_t c0, int64_t c1) {
  const int64_t PQ = s.P * s.Q;
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        const float* row = col + ((c * s.R + r) * s.S + t) * PQ;
        const int64_t off = t - s.pad;
        const int64_t q0 = std::min(s.Q, std::max<int64_t>(0, (-off + s.stride - 1) / s.stride));
        const int64_t q1 = std::max(q0, std::min(s.Q, (s.W - off + s.stride - 1) / s.stride));
        for (int64_t p = 0; p < s.P; ++p) {
          const int64_t h = p * s.stride - s.pad + r;
          if (h < 0 || h >= s.H) continue;
          float* dst = dx + (c * s.H + h) * s.W;
          const float* src = row + p * s.Q;
          for (int64_t q = q0; q < q1; ++q) dst[q * s.stride + off] += src[q];
        }
      }
}

// A scratch buffer per thread, reused across calls (im2col matrices are MBs).
float* scratch(size_t n) {
  static thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}
}  // namespace

void im2col(const Conv2dShape& s, const float* x_image, float* col) { im2col_channels(s, x_image, col, 0, s.C); }
void col2im(const Conv2dShape& s, const float* col, float* dx_image) { col2im_channels(s, col, dx_image, 0, s.C); }

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  // One GEMM over the whole batch with im2col done on the fly inside the
  // packed AVX-512 GEMM (engine/cpu/conv2d_fast.h): no im2col buffer.
  conv2d_forward_gemm(s, x, w, bias, y);
}

void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, HW = s.H * s.W;
  const bool one_image = s.N == 1;
  auto image = [&](int64_t n) {
    const float* dyn = dy + n * s.K * PQ;
    float* dxn = dx + n * s.C * HW;
    if (is_pointwise(s)) {  // dx_n (C, HW) = W^T dy_n directly
      gemm_tiled(true, false, s.C, PQ, s.K, w, CRS, dyn, PQ, dxn, PQ, false, one_image);
      return;
    }
    float* dcol = scratch(static_cast<size_t>(CRS * PQ));
    gemm_tiled(true, false, CRS, PQ, s.K, w, CRS, dyn, PQ, dcol, PQ, false, one_image);
    std::fill_n(dxn, s.C * HW, 0.f);
    if (one_image)  // each channel's dx plane is written by its own rows of dcol only: no races
      parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) { col2im_channels(s, dcol, dxn, c0, c1); });
    else
      col2im_channels(s, dcol, dxn, 0, s.C);
  };
  if (one_image) {
    image(0);
  } else {
#pragma omp parallel for schedule(dynamic)
    for (int64_t n = 0; n < s.N; ++n) image(n);
  }
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, HW = s.H * s.W;
  const bool pointwise = is_pointwise(s);
  if (s.N == 1) {
    const float* col = x;
    if (!pointwise) {
      float* buf = scratch(static_cast<size_t>(CRS * PQ));
      parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) { im2col_channels(s, x, buf, c0, c1); });
      col = buf;
    }
    gemm_tiled(false, true, s.K, CRS, PQ, dy, PQ, col, PQ, dw, CRS, false, true);
    return;
  }
  // Sum over the batch without races and in a fixed order: G groups (G from N
  // only, never from the thread count) each accumulate their images n = g,
  // g+G, ... into a private partial dW; the partials are then added in order.
  const int64_t G = std::min<int64_t>(s.N, 4), KCRS = s.K * CRS;
  std::vector<float> partial(static_cast<size_t>(G * KCRS));
#pragma omp parallel for schedule(dynamic)
  for (int64_t g = 0; g < G; ++g) {
    float* part = partial.data() + g * KCRS;
    for (int64_t n = g; n < s.N; n += G) {
      const float* col = x + n * s.C * HW;
      if (!pointwise) {
        float* buf = scratch(static_cast<size_t>(CRS * PQ));
        im2col_channels(s, col, buf, 0, s.C);
        col = buf;
      }
      gemm_tiled(false, true, s.K, CRS, PQ, dy + n * s.K * PQ, PQ, col, PQ, part, CRS, n != g, false);
    }
  }
  parallel_for(0, KCRS, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float acc = partial[i];
      for (int64_t g = 1; g < G; ++g) acc += partial[g * KCRS + i];
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
}  // namespace cpu

}  // namespace sn
