// cpu/conv2d_depthwise.cpp — depthwise convolution (groups == C == K, w (C,1,R,S)) on the CPU.
//
// Each output plane reads one input plane: R*S multiply-adds per output against a
// handful of loads, so the work is memory-bound and an im2col or GEMM formulation
// would only add traffic. One plane at a time, the input plane is copied once into a
// zero-padded, phase-split buffer (`Padded`): row i of the padded plane (H + 2*pad rows,
// Wp = W + 2*pad columns) is stored as `stride` phase rows of L = ceil(Wp / stride) floats,
// phase ph holding padded columns ph, ph + stride, ph + 2*stride, ... Then the input column
// read by output column q through tap t, q*stride + t, is entry q + t/stride of phase t%stride:
// every tap is a contiguous, branch-free, vectorizable loop over q, for any stride, with the
// padding already in place. The backward input runs the same loops with the roles of x and
// y swapped, adding into a padded buffer that is then cropped into dx.
// Threads: forward and dx over (n,c) planes, dw over channels (each channel sums its images
// in order, in double), so no result depends on the thread count.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/cpu/conv2d_grouped.h"
#include "engine/parallel.h"

namespace sn::cpu {
namespace {
struct Padded {
  int64_t stride, pad, H, W, rows, L;  // rows = H + 2*pad padded rows, each `stride` phase rows of L
  explicit Padded(const Conv2dShape& s)
      : stride(s.stride),
        pad(s.pad),
        H(s.H),
        W(s.W),
        rows(s.H + 2 * s.pad),
        L((s.W + 2 * s.pad + s.stride - 1) / s.stride) {}
  int64_t size() const { return rows * stride * L; }
  // Phase row of padded row i holding tap t's inputs, shifted so entry q is output column q's.
  int64_t offset(int64_t i, int64_t t) const { return (i * stride + t % stride) * L + t / stride; }
  // Padded column j*stride + ph of padded row i  <->  x[i - pad][j*stride + ph - pad].
  void fill(const float* x, float* buf) const {
    for (int64_t i = 0; i < rows; ++i) {
      float* row = buf + i * stride * L;
      const int64_t h = i - pad;
      if (h < 0 || h >= H) {
        std::fill_n(row, stride * L, 0.f);
        continue;
      }
      const float* src = x + h * W;
      if (stride == 1) {
        std::fill_n(row, pad, 0.f);
        std::copy_n(src, W, row + pad);
        std::fill(row + pad + W, row + L, 0.f);
        continue;
      }
      for (int64_t ph = 0; ph < stride; ++ph)
        for (int64_t j = 0; j < L; ++j) {
          const int64_t v = j * stride + ph - pad;
          row[ph * L + j] = v >= 0 && v < W ? src[v] : 0.f;
        }
    }
  }
  // The adjoint of fill: dx[h][v] = buf entry of (h + pad, v + pad).
  void crop(const float* buf, float* dx) const {
    for (int64_t h = 0; h < H; ++h) {
      const float* row = buf + (h + pad) * stride * L;
      float* dst = dx + h * W;
      for (int64_t v = 0; v < W; ++v) dst[v] = row[((v + pad) % stride) * L + (v + pad) / stride];
    }
  }
};

float* scratch(size_t n) {
  static thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Planes per parallel chunk: about 4K outputs, so 7x7 maps do not pay a task per plane.
int64_t plane_grain(const Conv2dShape& s) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, s.P * s.Q)); }
}  // namespace

void conv2d_depthwise_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  const Padded pd(s);
  const int64_t RS = s.R * s.S, HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(0, s.N * s.C, plane_grain(s), [&](int64_t b, int64_t e) {
    float* buf = scratch(static_cast<size_t>(pd.size()));
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t c = plane % s.C;
      pd.fill(x + plane * HW, buf);
      const float* wc = w + c * RS;
      const float b0 = bias ? bias[c] : 0.f;
      for (int64_t p = 0; p < s.P; ++p) {
        float* __restrict yrow = y + plane * PQ + p * s.Q;
        std::fill_n(yrow, s.Q, b0);
        for (int64_t r = 0; r < s.R; ++r)
          for (int64_t t = 0; t < s.S; ++t) {
            const float wv = wc[r * s.S + t];
            const float* __restrict src = buf + pd.offset(p * s.stride + r, t);
            for (int64_t q = 0; q < s.Q; ++q) yrow[q] += wv * src[q];
          }
      }
    }
  });
}

void conv2d_depthwise_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const Padded pd(s);
  const int64_t RS = s.R * s.S, HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(0, s.N * s.C, plane_grain(s), [&](int64_t b, int64_t e) {
    float* buf = scratch(static_cast<size_t>(pd.size()));
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t c = plane % s.C;
      const float* wc = w + c * RS;
      std::fill_n(buf, pd.size(), 0.f);
      for (int64_t p = 0; p < s.P; ++p) {
        const float* __restrict g = dy + plane * PQ + p * s.Q;
        for (int64_t r = 0; r < s.R; ++r)
          for (int64_t t = 0; t < s.S; ++t) {
            const float wv = wc[r * s.S + t];
            float* __restrict dst = buf + pd.offset(p * s.stride + r, t);
            for (int64_t q = 0; q < s.Q; ++q) dst[q] += wv * g[q];
          }
      }
      pd.crop(buf, dx + plane * HW);
    }
  });
}

void conv2d_depthwise_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const Padded pd(s);
  const int64_t RS = s.R * s.S, HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) {
    float* buf = scratch(static_cast<size_t>(pd.size()));
    std::vector<double> acc(static_cast<size_t>(RS));
    for (int64_t c = c0; c < c1; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < s.N; ++n) {
        pd.fill(x + (n * s.C + c) * HW, buf);
        for (int64_t p = 0; p < s.P; ++p) {
          const float* __restrict g = dy + (n * s.C + c) * PQ + p * s.Q;
          for (int64_t r = 0; r < s.R; ++r)
            for (int64_t t = 0; t < s.S; ++t) {
              const float* __restrict src = buf + pd.offset(p * s.stride + r, t);
              float part = 0;  // one row's dot product in float, rows summed in double: accurate over N*P rows
#pragma omp simd reduction(+ : part)
              for (int64_t q = 0; q < s.Q; ++q) part += g[q] * src[q];
              acc[size_t(r * s.S + t)] += part;
            }
        }
      }
      for (int64_t i = 0; i < RS; ++i) dw[c * RS + i] = static_cast<float>(acc[size_t(i)]);
    }
  });
}

}  // namespace sn::cpu
