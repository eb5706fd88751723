#include "engine/cpu/nchwc.h"

#include <algorithm>
#include <limits>

#include "engine/parallel.h"

#ifdef __AVX512F__
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace sn::cpu::nchwc {

void to_blocked(const float* x, int64_t N, int64_t C, int64_t HW, float* y) {
  const int64_t Cb = blocks(C);
  parallel_for(0, N * Cb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t nb = b0; nb < b1; ++nb) {
      const int64_t n = nb / Cb, cb = nb % Cb;
      float* out = y + nb * HW * kBlock;
      for (int64_t l = 0; l < kBlock; ++l) {
        const int64_t c = cb * kBlock + l;
        const float* in = x + (n * C + c) * HW;
        if (c < C)
          for (int64_t i = 0; i < HW; ++i) out[i * kBlock + l] = in[i];
        else
          for (int64_t i = 0; i < HW; ++i) out[i * kBlock + l] = 0.f;
      }
    }
  });
}

void from_blocked(const float* x, int64_t N, int64_t C, int64_t HW, float* y) {
  const int64_t Cb = blocks(C);
  parallel_for(0, N * C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t nc = c0; nc < c1; ++nc) {
      const int64_t n = nc / C, c = nc % C;
      const float* in = x + ((n * Cb + c / kBlock) * HW) * kBlock + c % kBlock;
      float* out = y + nc * HW;
      for (int64_t i = 0; i < HW; ++i) out[i] = in[i * kBlock];
    }
  });
}

namespace {
// The maximum of the window's pixels [h0,h1) x [w0,w1), 16 channels at a time,
// into out; a NaN anywhere in the window wins, as in PyTorch.
inline void window_max(const float* in, int64_t W, int64_t h0, int64_t h1, int64_t w0, int64_t w1, float* out) {
#ifdef __AVX512F__
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __mmask16 nan = 0;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const __m512 v = _mm512_loadu_ps(in + (h * W + w) * kBlock);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      m = _mm512_max_ps(m, v);
    }
  m = _mm512_mask_mov_ps(m, nan, _mm512_set1_ps(std::numeric_limits<float>::quiet_NaN()));
  _mm512_storeu_ps(out, m);
#else
  float m[kBlock];
  std::fill(m, m + kBlock, -std::numeric_limits<float>::infinity());
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const float* v = in + (h * W + w) * kBlock;
      for (int64_t l = 0; l < kBlock; ++l)
        if (m[l] == m[l] && (v[l] != v[l] || v[l] > m[l])) m[l] = v[l];  // once NaN, stays NaN
    }
  std::copy(m, m + kBlock, out);
#endif
}
}  // namespace

void max_pool2d(const float* x, int64_t N, int64_t Cb, int64_t H, int64_t W, int kernel, int stride, int pad,
                float* y) {
  const int64_t P = (H + 2 * pad - kernel) / stride + 1, Q = (W + 2 * pad - kernel) / stride + 1;
  // One task per output row of one channel block: the 16 lanes are independent maxima.
  parallel_for(0, N * Cb * P, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t plane = row / P, p = row % P;
      const float* in = x + plane * H * W * kBlock;
      float* out = y + (plane * P + p) * Q * kBlock;
      const int64_t h0 = std::max<int64_t>(0, p * stride - pad), h1 = std::min<int64_t>(H, p * stride - pad + kernel);
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t w0 = std::max<int64_t>(0, q * stride - pad), w1 = std::min<int64_t>(W, q * stride - pad + kernel);
        window_max(in, W, h0, h1, w0, w1, out + q * kBlock);
      }
    }
  });
}

void global_avg_pool(const float* x, int64_t N, int64_t C, int64_t HW, float* y) {
  const int64_t Cb = blocks(C);
  parallel_for(0, N * Cb, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t nb = b0; nb < b1; ++nb) {
      const int64_t n = nb / Cb, cb = nb % Cb;
      const float* in = x + nb * HW * kBlock;
      // Summed in pixel order, as the plain kernel sums a channel plane.
      float s[kBlock] = {};
      for (int64_t i = 0; i < HW; ++i)
        for (int64_t l = 0; l < kBlock; ++l) s[l] += in[i * kBlock + l];
      for (int64_t l = 0; l < kBlock && cb * kBlock + l < C; ++l) y[n * C + cb * kBlock + l] = s[l] / float(HW);
    }
  });
}

namespace {
// Sums of one plane's 16 lanes: four independent accumulators per lane (the
// compiler keeps them in vectors), so the adds are not one latency chain.
void plane_sum(const float* p, int64_t HW, float (&out)[kBlock], const float* mean_lanes) {
  float s[4][kBlock] = {};
  int64_t i = 0;
  if (!mean_lanes) {
    for (; i + 4 <= HW; i += 4)
      for (int u = 0; u < 4; ++u)
        for (int64_t l = 0; l < kBlock; ++l) s[u][l] += p[(i + u) * kBlock + l];
    for (; i < HW; ++i)
      for (int64_t l = 0; l < kBlock; ++l) s[0][l] += p[i * kBlock + l];
  } else {  // squared deviations from mean_lanes
    for (; i + 4 <= HW; i += 4)
      for (int u = 0; u < 4; ++u)
        for (int64_t l = 0; l < kBlock; ++l) {
          const float d = p[(i + u) * kBlock + l] - mean_lanes[l];
          s[u][l] += d * d;
        }
    for (; i < HW; ++i)
      for (int64_t l = 0; l < kBlock; ++l) {
        const float d = p[i * kBlock + l] - mean_lanes[l];
        s[0][l] += d * d;
      }
  }
  for (int64_t l = 0; l < kBlock; ++l) out[l] = (s[0][l] + s[1][l]) + (s[2][l] + s[3][l]);
}
}  // namespace

void batch_stats(const float* x, int64_t N, int64_t C, int64_t HW, int64_t before, double* mean, double* m2) {
  const int64_t Cb = blocks(C);
  parallel_for(0, Cb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t cb = b0; cb < b1; ++cb) {
      double m[kBlock] = {}, s2[kBlock] = {};  // running mean and sum of squared deviations
      if (before > 0)
        for (int64_t l = 0; l < kBlock && cb * kBlock + l < C; ++l)
          m[l] = mean[cb * kBlock + l], s2[l] = m2[cb * kBlock + l];
      for (int64_t n = 0; n < N; ++n) {
        const float* p = x + (n * Cb + cb) * HW * kBlock;
        float sum[kBlock], sq[kBlock], pm[kBlock];
        plane_sum(p, HW, sum, nullptr);
        for (int64_t l = 0; l < kBlock; ++l) pm[l] = sum[l] / float(HW);
        plane_sum(p, HW, sq, pm);
        // Chan et al.: merge (count (before+n)*HW, m, s2) with (HW, pm, sq).
        const double na = double((before + n) * HW), nb = double(HW), nt = na + nb;
        for (int64_t l = 0; l < kBlock; ++l) {
          const double delta = double(pm[l]) - m[l];
          m[l] += delta * nb / nt;
          s2[l] += double(sq[l]) + delta * delta * na * nb / nt;
        }
      }
      for (int64_t l = 0; l < kBlock && cb * kBlock + l < C; ++l) {
        mean[cb * kBlock + l] = m[l];
        m2[cb * kBlock + l] = s2[l];
      }
    }
  });
}

void scale_shift(float* x, int64_t N, int64_t Cb, int64_t HW, const float* scale, const float* shift,
                 const float* residual, bool relu) {
  parallel_for(0, N * Cb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t nb = b0; nb < b1; ++nb) {
      const int64_t cb = nb % Cb;
      float* p = x + nb * HW * kBlock;
      const float* r = residual ? residual + nb * HW * kBlock : nullptr;
      const float* sc = scale + cb * kBlock;
      const float* sh = shift + cb * kBlock;
      for (int64_t i = 0; i < HW; ++i)
        for (int64_t l = 0; l < kBlock; ++l) {
          float v = p[i * kBlock + l] * sc[l] + sh[l];
          if (r) v += r[i * kBlock + l];
          p[i * kBlock + l] = relu ? std::max(v, 0.f) : v;
        }
    }
  });
}

void to_bf16(const float* x, int64_t n, uint16_t* y) {
  parallel_for(0, n, 1 << 16, [&](int64_t i0, int64_t i1) {
    int64_t i = i0;
#if defined(__AVX512BF16__) && defined(__AVX512F__)
    for (; i + 16 <= i1; i += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
#endif
    for (; i < i1; ++i) y[i] = float_to_bf16(x[i]);
  });
}

void from_bf16(const uint16_t* x, int64_t n, float* y) {
  parallel_for(0, n, 1 << 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = bf16_to_float(x[i]);
  });
}

void global_avg_pool(const uint16_t* x, int64_t N, int64_t C, int64_t HW, float* y) {
  const int64_t Cb = blocks(C);
  parallel_for(0, N * Cb, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t nb = b0; nb < b1; ++nb) {
      const int64_t n = nb / Cb, cb = nb % Cb;
      const uint16_t* in = x + nb * HW * kBlock;
      float s[kBlock] = {};
      for (int64_t i = 0; i < HW; ++i)
        for (int64_t l = 0; l < kBlock; ++l) s[l] += bf16_to_float(in[i * kBlock + l]);
      for (int64_t l = 0; l < kBlock && cb * kBlock + l < C; ++l) y[n * C + cb * kBlock + l] = s[l] / float(HW);
    }
  });
}

void scale_shift_bf16(const float* x, int64_t N, int64_t Cb, int64_t HW, const float* scale, const float* shift,
                      const uint16_t* residual, bool relu, uint16_t* y) {
  parallel_for(0, N * Cb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t nb = b0; nb < b1; ++nb) {
      const int64_t cb = nb % Cb;
      const float* p = x + nb * HW * kBlock;
      const uint16_t* r = residual ? residual + nb * HW * kBlock : nullptr;
      uint16_t* out = y + nb * HW * kBlock;
      const float* sc = scale + cb * kBlock;
      const float* sh = shift + cb * kBlock;
      for (int64_t i = 0; i < HW; ++i)
        for (int64_t l = 0; l < kBlock; ++l) {
          float v = p[i * kBlock + l] * sc[l] + sh[l];
          if (r) v += bf16_to_float(r[i * kBlock + l]);
          out[i * kBlock + l] = float_to_bf16(relu ? std::max(v, 0.f) : v);
        }
    }
  });
}

}  // namespace sn::cpu::nchwc
