#include "engine/cpu/pooling.h"

#include <algorithm>
#include <vector>

#include "engine/parallel.h"

#ifdef __AVX512F__
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#endif

namespace sn {

namespace {
// The window of output (p,q) clipped to the image: rows [h0,h1), cols [w0,w1).
struct Window {
  int64_t h0, h1, w0, w1;
};
inline Window window(const Pool2dShape& s, int64_t p, int64_t q) {
  const int64_t h = p * s.stride - s.pad, w = q * s.stride - s.pad;
  return {std::max<int64_t>(h, 0), std::min(h + s.kernel, s.H), std::max<int64_t>(w, 0), std::min(w + s.kernel, s.W)};
}
// Position (h*W + w) of the first maximum of a window; NaN wins, as in PyTorch.
template <typename T>
inline int64_t argmax_in(const Pool2dShape& s, const T* plane, const Window& win) {
  int64_t best = win.h0 * s.W + win.w0;
  for (int64_t h = win.h0; h < win.h1; ++h)
    for (int64_t w = win.w0; w < win.w1; ++w) {
      const T v = plane[h * s.W + w];
      if (v > plane[best] || v != v) best = h * s.W + w;
      if (v != v) return best;
    }
  return best;
}
}  // namespace

// ---- reference ---------------------------------------------------------------------
namespace ref {
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y) {
  for (int64_t nc = 0; nc < s.N * s.C; ++nc)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q) {
        const T* plane = x + nc * s.H * s.W;
        y[(nc * s.P + p) * s.Q + q] = plane[argmax_in(s, plane, window(s, p, q))];
      }
}
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* x, const T* dy, T* dx) {
  std::fill_n(dx, s.N * s.C * s.H * s.W, T(0));
  for (int64_t nc = 0; nc < s.N * s.C; ++nc)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q) {
        const T* plane = x + nc * s.H * s.W;
        dx[nc * s.H * s.W + argmax_in(s, plane, window(s, p, q))] += dy[(nc * s.P + p) * s.Q + q];
      }
}
template <typename T>
void avg_pool_1x1_forward(int64_t planes, int64_t hw, const T* x, T* y) {
  for (int64_t i = 0; i < planes; ++i) {
    T acc = 0;
    for (int64_t j = 0; j < hw; ++j) acc += x[i * hw + j];
    y[i] = acc / T(hw);
  }
}
template <typename T>
void avg_pool_1x1_backward(int64_t planes, int64_t hw, const T* dy, T* dx) {
  for (int64_t i = 0; i < planes; ++i)
    for (int64_t j = 0; j < hw; ++j) dx[i * hw + j] = dy[i] / T(hw);
}
#define SN_INSTANTIATE(T)                                                           \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*);            \
  template void max_pool2d_backward<T>(const Pool2dShape&, const T*, const T*, T*); \
  template void avg_pool_1x1_forward<T>(int64_t, int64_t, const T*, T*);            \
  template void avg_pool_1x1_backward<T>(int64_t, int64_t, const T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

// ---- fast --------------------------------------------------------------------------
namespace cpu {
// Separable: the max over a window is the max over its columns of the max over
// its rows. For each output row, first the max of the kernel's input rows
// (contiguous, vectorized), then the windows along that one row: ~kernel
// comparisons per input element instead of kernel^2 per output. Same NaN rule
// as the reference (a NaN anywhere in the window gives NaN).
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  parallel_for(0, s.N * s.C, 8, [&](int64_t b, int64_t e) {
    std::vector<float> rowmax(static_cast<size_t>(s.W));
    float* rm = rowmax.data();
    for (int64_t nc = b; nc < e; ++nc) {
      const float* plane = x + nc * s.H * s.W;
      float* out = y + nc * s.P * s.Q;
      for (int64_t p = 0; p < s.P; ++p) {
        const Window rows = window(s, p, 0);
        std::copy_n(plane + rows.h0 * s.W, s.W, rm);
        for (int64_t h = rows.h0 + 1; h < rows.h1; ++h) {
          const float* src = plane + h * s.W;
          for (int64_t w = 0; w < s.W; ++w) {
            const float v = src[w], m = rm[w];
            rm[w] = (v > m || v != v) ? v : m;
          }
        }
        for (int64_t q = 0; q < s.Q; ++q) {
          const Window win = window(s, p, q);
          float m = rm[win.w0];
          for (int64_t w = win.w0 + 1; w < win.w1; ++w) {
            const float v = rm[w];
            m = (v > m || v != v) ? v : m;
          }
          out[p * s.Q + q] = m;
        }
      }
    }
  });
}
void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx) {
  // Windows overlap (kernel > stride), but only within a plane: one plane per task, no races.
  parallel_for(0, s.N * s.C, 1, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const float* plane = x + nc * s.H * s.W;
      float* g = dx + nc * s.H * s.W;
      std::fill_n(g, s.H * s.W, 0.f);
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) g[argmax_in(s, plane, window(s, p, q))] += dy[(nc * s.P + p) * s.Q + q];
    }
  });
}
#ifdef __AVX512F__
namespace {
// The means of 16 consecutive planes (n of them valid, n <= 16), x (16, hw) -> y (16).
// The one-plane loop spent most of its time not adding but reducing its 16-lane
// vector to one float (a shuffle-and-add chain per 7x7 plane of ResNet's last
// pool). Here 16 planes are summed at once: one accumulator vector per plane
// (16 independent add chains), then a transpose-and-add tree folds the 16
// vectors into one vector holding the 16 sums: 30 shuffles and 15 adds for 16
// planes instead of 16 separate reductions. Every plane goes through the same
// lanes and tree, whatever its place in the block, so each mean's rounding does
// not depend on where the block or thread chunk starts. kFull: n == 16, known
// at compile time so the loops over the 16 planes unroll and v stays in registers.
template <bool kFull>
inline void mean16(int64_t n, int64_t hw, const float* x, float* y) {
  const int planes = kFull ? 16 : static_cast<int>(n);
  __m512 v[16];
  for (int k = 0; k < 16; ++k) v[k] = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= hw; j += 16)
    for (int k = 0; k < planes; ++k) v[k] = _mm512_add_ps(v[k], _mm512_loadu_ps(x + k * hw + j));
  if (j < hw) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (hw - j)) - 1);
    for (int k = 0; k < planes; ++k) v[k] = _mm512_add_ps(v[k], _mm512_maskz_loadu_ps(tail, x + k * hw + j));
  }
  // Tree: each level adds the two halves of pairs of vectors, packing both pairs' halves in one vector.
  for (int k = 0; k < 8; ++k)  // 256-bit halves of planes k and k+8
    v[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[k], v[k + 8], 0x44), _mm512_shuffle_f32x4(v[k], v[k + 8], 0xEE));
  for (int k = 0; k < 4; ++k)  // 128-bit quarters
    v[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[k], v[k + 4], 0x88), _mm512_shuffle_f32x4(v[k], v[k + 4], 0xDD));
  for (int k = 0; k < 2; ++k)  // pairs of floats within each 128-bit lane
    v[k] = _mm512_add_ps(_mm512_shuffle_ps(v[k], v[k + 2], 0x44), _mm512_shuffle_ps(v[k], v[k + 2], 0xEE));
  const __m512 sums = _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], 0x88), _mm512_shuffle_ps(v[0], v[1], 0xDD));
  // The tree leaves plane p's sum in lane order[p] (a fixed permutation; it is its own inverse).
  const __m512i order = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
  const __m512 means = _mm512_div_ps(_mm512_permutexvar_ps(order, sums), _mm512_set1_ps(static_cast<float>(hw)));
  _mm512_mask_storeu_ps(y, static_cast<__mmask16>((1u << planes) - 1), means);
}
}  // namespace

void avg_pool_1x1_forward(int64_t planes, int64_t hw, const float* x, float* y) {
  // Small planes (ResNet's 7x7): the hardware prefetcher sees 16 short interleaved
  // streams and starts late, so the block after next (a few KB) is prefetched
  // explicitly (faster when x comes from memory: docs/PERFORMANCE.md).
  const bool prefetch = hw <= 256;
  // Chunks of 256 planes (a multiple of 16): blocks and chunks depend only on the sizes.
  parallel_for(0, planes, 256, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + 16 <= e; i += 16) {
      if (prefetch && i + 48 <= planes) {
        const char* next = reinterpret_cast<const char*>(x + (i + 32) * hw);
        const int64_t bytes = 16 * hw * int64_t(sizeof(float));
        for (int64_t line = 0; line < bytes; line += 64) _mm_prefetch(next + line, _MM_HINT_T0);
      }
      mean16<true>(16, hw, x + i * hw, y + i);
    }
    if (i < e) mean16<false>(e - i, hw, x + i * hw, y + i);  // the last, short block
  });
}
#else
void avg_pool_1x1_forward(int64_t planes, int64_t hw, const float* x, float* y) {
  parallel_for(0, planes, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* p = x + i * hw;
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < hw; ++j) acc += p[j];
      y[i] = acc / static_cast<float>(hw);
    }
  });
}
#endif
void avg_pool_1x1_backward(int64_t planes, int64_t hw, const float* dy, float* dx) {
  parallel_for(0, planes, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float g = dy[i] / static_cast<float>(hw);
      std::fill_n(dx + i * hw, hw, g);
    }
  });
}
}  // namespace cpu

}  // namespace sn
