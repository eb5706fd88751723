// cpu/adaptive_pool.cpp — adaptive average pooling: reference and fast CPU path.
#include "engine/cpu/adaptive_pool.h"

#include <algorithm>

#include "engine/parallel.h"

namespace sn {

// ---- reference: one bin at a time ----------------------------------------------
namespace ref {
template <typename T>
void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const T* x, T* y) {
  for (int64_t plane = 0; plane < s.N * s.C; ++plane)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q) {
        const int64_t h0 = adaptive_bin_begin(p, s.H, s.P), h1 = adaptive_bin_end(p, s.H, s.P);
        const int64_t v0 = adaptive_bin_begin(q, s.W, s.Q), v1 = adaptive_bin_end(q, s.W, s.Q);
        T sum = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t v = v0; v < v1; ++v) sum += x[(plane * s.H + h) * s.W + v];
        y[(plane * s.P + p) * s.Q + q] = sum / T((h1 - h0) * (v1 - v0));
      }
}

template <typename T>
void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const T* dy, T* dx) {
  std::fill_n(dx, s.N * s.C * s.H * s.W, T(0));
  for (int64_t plane = 0; plane < s.N * s.C; ++plane)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q) {
        const int64_t h0 = adaptive_bin_begin(p, s.H, s.P), h1 = adaptive_bin_end(p, s.H, s.P);
        const int64_t v0 = adaptive_bin_begin(q, s.W, s.Q), v1 = adaptive_bin_end(q, s.W, s.Q);
        const T g = dy[(plane * s.P + p) * s.Q + q] / T((h1 - h0) * (v1 - v0));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t v = v0; v < v1; ++v) dx[(plane * s.H + h) * s.W + v] += g;
      }
}

#define SN_INSTANTIATE(T)                                                                 \
  template void adaptive_avg_pool2d_forward<T>(const AdaptivePool2dShape&, const T*, T*); \
  template void adaptive_avg_pool2d_backward<T>(const AdaptivePool2dShape&, const T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

// ---- fast: planes over threads ------------------------------------------------------
namespace cpu {
namespace {
int64_t plane_grain(int64_t per_plane) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, per_plane)); }
}  // namespace

void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const float* x, float* y) {
  parallel_for(0, s.N * s.C, plane_grain(s.H * s.W), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const float* xp = x + plane * s.H * s.W;
      float* yp = y + plane * s.P * s.Q;
      for (int64_t p = 0; p < s.P; ++p) {
        const int64_t h0 = adaptive_bin_begin(p, s.H, s.P), h1 = adaptive_bin_end(p, s.H, s.P);
        for (int64_t q = 0; q < s.Q; ++q) {
          const int64_t v0 = adaptive_bin_begin(q, s.W, s.Q), v1 = adaptive_bin_end(q, s.W, s.Q);
          float sum = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t v = v0; v < v1; ++v) sum += xp[h * s.W + v];
          yp[p * s.Q + q] = sum / static_cast<float>((h1 - h0) * (v1 - v0));
        }
      }
    }
  });
}

// Input row h lies in the bins p = floor(h*P/H) .. ceil((h+1)*P/H) - 1 (from the bin
// bounds above: begin(p) <= h < end(p)); columns likewise.
void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const float* dy, float* dx) {
  parallel_for(0, s.N * s.C, plane_grain(s.H * s.W), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const float* gp = dy + plane * s.P * s.Q;
      float* dp = dx + plane * s.H * s.W;
      for (int64_t h = 0; h < s.H; ++h) {
        const int64_t p0 = h * s.P / s.H, p1 = ((h + 1) * s.P + s.H - 1) / s.H;
        for (int64_t v = 0; v < s.W; ++v) {
          const int64_t q0 = v * s.Q / s.W, q1 = ((v + 1) * s.Q + s.W - 1) / s.W;
          float acc = 0;
          for (int64_t p = p0; p < p1; ++p) {
            const int64_t rows = adaptive_bin_end(p, s.H, s.P) - adaptive_bin_begin(p, s.H, s.P);
            for (int64_t q = q0; q < q1; ++q) {
              const int64_t cols = adaptive_bin_end(q, s.W, s.Q) - adaptive_bin_begin(q, s.W, s.Q);
              acc += gp[p * s.Q + q] / static_cast<float>(rows * cols);
            }
          }
          dp[h * s.W + v] = acc;
        }
      }
    }
  });
}
}  // namespace cpu

}  // namespace sn
