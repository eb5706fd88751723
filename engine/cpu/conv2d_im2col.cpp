// cpu/conv2d_im2col.cpp — the convolution's im2col matrix: materialised per image
// (im2col_channels, col2im_channels: the backward) and packed on the fly into the
// GEMM's blocks (make_im2col_source: the forward, and the stride-1 input gradient).
#include "engine/cpu/conv2d_im2col.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/check.h"

#ifdef __AVX512F__
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif

namespace sn::cpu {

namespace {
using namespace packed_gemm;

// ---- materialised im2col, the stride-1 fast path ------------------------------------
// Stride 1 with Q == W (every 3x3, pad-1 layer of ResNet): row (c, r, t) of col
// is channel plane c itself, read from offset (r - pad)*W + (t - pad), with the
// positions whose source pixel lies outside the image set to 0. Which positions
// those are depends on (r, t) only: a bitmask over the P*Q columns, made once per
// call; then each row is whole vectors of (masked) loads. Rows of 7 to 28 floats
// made the row-by-row copy below slow on small maps (timings in docs/PERFORMANCE.md,
// "Measurements behind the code").
// The masks are kept per thread and shape: callers split one image's channels
// into many calls (one per channel for a single image), and building the masks
// in each (28K positions at 56x56) cost more than the copy itself.
const std::vector<uint16_t>& shift_masks(const Conv2dShape& s) {
  thread_local std::vector<uint16_t> mask;
  thread_local std::array<int64_t, 7> key{-1, -1, -1, -1, -1, -1, -1};
  const std::array<int64_t, 7> k{s.H, s.W, s.P, s.Q, s.R, s.S, s.pad};
  if (k == key) return mask;
  const int64_t groups = (s.P * s.Q + 15) / 16;
  mask.assign(static_cast<size_t>(s.R * s.S * groups), 0);
  for (int64_t r = 0; r < s.R; ++r)
    for (int64_t t = 0; t < s.S; ++t)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const int64_t h = p - s.pad + r, v = q - s.pad + t, j = p * s.Q + q;
          if (h >= 0 && h < s.H && v >= 0 && v < s.W)
            mask[size_t((r * s.S + t) * groups + j / 16)] |= uint16_t(1u << (j % 16));
        }
  key = k;
  return mask;
}

void im2col_shifted(const Conv2dShape& s, const float* x, float* col, int64_t c0, int64_t c1, int64_t ld) {
  const int64_t PQ = s.P * s.Q, HW = s.H * s.W, RS = s.R * s.S, groups = (PQ + 15) / 16;
  const std::vector<uint16_t>& mask = shift_masks(s);
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t rt = 0; rt < RS; ++rt) {
      const int64_t shift = c * HW + (rt / s.S - s.pad) * s.W + (rt % s.S - s.pad);  // x index of column 0
      float* dst = col + (c * RS + rt) * ld;
      const uint16_t* m = mask.data() + rt * groups;
#ifdef __AVX512F__
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t j = 16 * g;
        // Lanes outside the image are masked off: a masked load never touches them.
        const __m512 v = m[g] == 0xFFFF ? _mm512_loadu_ps(x + shift + j) : _mm512_maskz_loadu_ps(m[g], x + shift + j);
        if (j + 16 <= PQ)
          _mm512_storeu_ps(dst + j, v);
        else  // the row's last, partial vector: the next floats belong to another image or row
          _mm512_mask_storeu_ps(dst + j, __mmask16((1u << (PQ - j)) - 1), v);
      }
#else
      for (int64_t j = 0; j < PQ; ++j) dst[j] = (m[j / 16] >> (j % 16)) & 1u ? x[shift + j] : 0.f;
#endif
    }
}

// ---- implicit im2col: the GEMM's B, packed straight from x -------------------------
// The im2col matrix of a whole batch, as a BSource: row kk = (c, r, t) of the
// filter, column j = (n, p, q) of the output, value
//   x[n, c, p*stride - pad + r, q*stride - pad + t]   (0 outside the image).
// Each element's address is  x + col_off[j] + row_off[kk]  with
//   col_off = n*C*H*W + ih0*W + iw0,  row_off = c*H*W + r*W + t,
// valid when 0 <= ih0 + r < H and 0 <= iw0 + t < W (ih0 = p*stride - pad, iw0 likewise).
class Im2colB final : public BSource {
 public:
  Im2colB(const Conv2dShape& s, const float* x)
      : s_(s),
        x_(x),
        lo_addr_(reinterpret_cast<uintptr_t>(x)),
        hi_addr_(reinterpret_cast<uintptr_t>(x + s.N * s.C * s.H * s.W)) {
    const int64_t rows = s.C * s.R * s.S;
    row_off_.resize(size_t(rows));
    row_r_.resize(size_t(rows));
    row_t_.resize(size_t(rows));
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t t = 0; t < s.S; ++t) {
          const size_t kk = size_t((c * s.R + r) * s.S + t);
          row_off_[kk] = int32_t(c * s.H * s.W + r * s.W + t);
          row_r_[kk] = int32_t(r);
          row_t_[kk] = int32_t(t);
        }
  }

  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t w, int64_t width, float* dst) const override {
    (void)width;  // always w rounded up to 16, as pack_block lays it out
    pack_block(k0, kc, j0, w, dst, 0);
  }

  // All strips of a block at once, row by row: for a row (c, r, t) of the
  // filter, the block's columns read one long stretch of a channel plane of x.
  void pack_block(int64_t k0, int64_t kc, int64_t j0, int64_t w, float* dst, int64_t strip_stride) const override {
    SN_CHECK(w <= kNC, "conv2d pack: block of ", w, " columns is wider than ", kNC);
    // Per-column tables, walking (n, p, q) without divisions.
    alignas(64) int32_t off[kNC + kNR], ih[kNC + kNR], iw[kNC + kNR];
    const int64_t PQ = s_.P * s_.Q, CHW = s_.C * s_.H * s_.W;
    int64_t n = j0 / PQ, p = (j0 % PQ) / s_.Q, q = j0 % s_.Q;
    for (int64_t j = 0; j < w; ++j) {
      ih[j] = int32_t(p * s_.stride - s_.pad);
      iw[j] = int32_t(q * s_.stride - s_.pad);
      off[j] = int32_t(n * CHW + ih[j] * s_.W + iw[j]);
      if (++q == s_.Q) {
        q = 0;
        if (++p == s_.P) p = 0, ++n;
      }
    }
    // Padding columns (up to the next multiple of 16): far outside the image,
    // so every row reads them as 0.
    const int64_t wpad = (w + 15) / 16 * 16;
    for (int64_t j = w; j < wpad; ++j) ih[j] = iw[j] = INT32_MIN / 2, off[j] = 0;
    // Vector g (16 columns) goes to strip g / 3, row k at dst_g + k * width(strip).
    const int64_t groups = wpad / 16;
    float* gdst[kNC / 16 + 1];
    int64_t gstride[kNC / 16 + 1];
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t strip = g / (kNR / 16), js = strip * kNR;
      gstride[g] = std::min<int64_t>(kNR, wpad - js);
      gdst[g] = dst + strip * strip_stride + (g * 16 - js);
    }
    pack_rows(k0, kc, groups, off, ih, iw, gdst, gstride);
  }

 private:
#ifdef __AVX512F__
  // How the 16 columns of a vector sit in x is decided once per strip: they
  // form "runs" of columns on one output row of one image, whose addresses
  // step by the stride (1 or 2). A vector holds one run (most of a wide
  // feature map), two (it crosses to the next row), or a few (7x7 maps).
  //   stride 1: one masked load per run;
  //   stride 2: two masked loads of 32 floats and a permute that keeps the
  //             even ones, per run;
  //   otherwise (more than kMaxRuns runs, stride > 2): a gather.
  // Lanes outside the image are masked off; masked loads never fault on them.
  static constexpr int kMaxRuns = 4;
  static constexpr int64_t kAhead = 8;  // rows of prefetch distance
  struct Group {
    int runs = 0;                        // 0: use a gather
    int start[kMaxRuns + 1] = {};        // lanes [start[i], start[i+1]) form run i
    bool all_real = true;                // no padding column (past the matrix's last)
    int32_t ih_lo, ih_hi, iw_lo, iw_hi;  // for the "whole vector inside the image" test
  };

  void pack_rows(int64_t k0, int64_t kc, int64_t groups, const int32_t* off, const int32_t* ih, const int32_t* iw,
                 float* const* gdst, const int64_t* gstride) const {
    const int32_t step = int32_t(s_.stride);
    Group grp[kNC / 16 + 1];
    for (int64_t g = 0; g < groups; ++g) {
      Group& G = grp[g];
      const int32_t* o = off + 16 * g;
      G.ih_lo = G.iw_lo = INT32_MAX;
      G.ih_hi = G.iw_hi = INT32_MIN;
      int runs = 1;
      for (int l = 0; l < 16; ++l) {
        const bool real = ih[16 * g + l] > INT32_MIN / 2;  // padding lanes come last and stay masked off
        G.all_real = G.all_real && real;
        if (l > 0 && real && o[l] != o[l - 1] + step) {
          if (runs < kMaxRuns) G.start[runs] = l;
          ++runs;
        }
        G.ih_lo = std::min(G.ih_lo, ih[16 * g + l]);
        G.ih_hi = std::max(G.ih_hi, ih[16 * g + l]);
        G.iw_lo = std::min(G.iw_lo, iw[16 * g + l]);
        G.iw_hi = std::max(G.iw_hi, iw[16 * g + l]);
      }
      G.runs = (runs <= kMaxRuns && step <= 2) ? runs : 0;
      G.start[0] = 0;
      G.start[G.runs] = 16;
    }
    const int32_t H = int32_t(s_.H), W = int32_t(s_.W);
    const __m512i vH = _mm512_set1_epi32(H), vW = _mm512_set1_epi32(W);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t k = 0; k < kc; ++k) {
      const size_t kk = size_t(k0 + k);
      const int32_t r = row_r_[kk], t = row_t_[kk], ro = row_off_[kk];
      const float* base = x_ + ro;
      // x is streamed from memory once, one stretch of a channel plane per
      // row: prefetch a few rows ahead so that many lines are in flight (the
      // hardware prefetcher does not follow jumps between channel planes).
      const float* ahead = k + kAhead < kc ? x_ + row_off_[kk + kAhead] : nullptr;
      for (int64_t g = 0; g < groups; ++g) {
        const Group& G = grp[g];
        const int32_t* o = off + 16 * g;
        float* d = gdst[g] + k * gstride[g];
        if (ahead && G.runs > 0) {
          _mm_prefetch(reinterpret_cast<const char*>(ahead + o[0]), _MM_HINT_T0);
          if (step == 2) _mm_prefetch(reinterpret_cast<const char*>(ahead + o[0] + 16), _MM_HINT_T0);
        }
        if (step == 1 && G.runs == 1 && G.all_real && G.ih_lo + r >= 0 && G.ih_hi + r < H && G.iw_lo + t >= 0 &&
            G.iw_hi + t < W) {
          _mm512_store_ps(d, _mm512_loadu_ps(base + o[0]));  // the common case: 16 floats in a row
          continue;
        }
        // Unsigned compare: a negative coordinate becomes huge, so one test
        // per axis checks both bounds.
        const __m512i vih = _mm512_add_epi32(_mm512_load_si512(ih + 16 * g), _mm512_set1_epi32(r));
        const __m512i viw = _mm512_add_epi32(_mm512_load_si512(iw + 16 * g), _mm512_set1_epi32(t));
        const __mmask16 m = _mm512_cmplt_epu32_mask(vih, vH) & _mm512_cmplt_epu32_mask(viw, vW);
        __m512 v = _mm512_setzero_ps();
        if (m == 0) {
        } else if (G.runs == 0) {
          const __m512i idx = _mm512_add_epi32(_mm512_load_si512(off + 16 * g), _mm512_set1_epi32(ro));
          v = _mm512_mask_i32gather_ps(v, m, idx, x_, 4);
        } else {
          for (int i = 0; i < G.runs; ++i) {
            const int l0 = G.start[i], l1 = G.start[i + 1];
            const __mmask16 mr = m & __mmask16(((1u << l1) - 1) & ~((1u << l0) - 1));
            if (!mr) continue;
            // Lane l of this run reads p[step * l].
            const float* p = base + o[l0] - step * l0;
            if (step == 1) {
              v = _mm512_mask_mov_ps(v, mr, load16(p, mr));
            } else {
              const uint32_t src = spread_even(mr);  // lane l needs float 2l of p
              const __m512 lo = load16(p, __mmask16(src)), hi = load16(p + 16, __mmask16(src >> 16));
              v = _mm512_mask_mov_ps(v, mr, _mm512_permutex2var_ps(lo, even, hi));
            }
          }
        }
        _mm512_store_ps(d, v);
      }
    }
  }

  // 16 floats from p, of which only the lanes in `need` matter. Inside x a
  // plain load is used (the other lanes are discarded by the caller): on AMD
  // Zen a masked load is much slower than a plain one. At the very ends of x
  // a masked load avoids reading past the allocation.
  __m512 load16(const float* p, __mmask16 need) const {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (a >= lo_addr_ && a + 16 * sizeof(float) <= hi_addr_) return _mm512_loadu_ps(p);
    return _mm512_maskz_loadu_ps(need, p);
  }

  // Bit l of m moves to bit 2l.
  static uint32_t spread_even(uint32_t m) {
#ifdef __BMI2__
    return _pdep_u32(m, 0x55555555u);
#else
    uint32_t out = 0;
    for (int l = 0; l < 16; ++l) out |= ((m >> l) & 1u) << (2 * l);
    return out;
#endif
  }
#else
  void pack_rows(int64_t k0, int64_t kc, int64_t groups, const int32_t* off, const int32_t* ih, const int32_t* iw,
                 float* const* gdst, const int64_t* gstride) const {
    for (int64_t k = 0; k < kc; ++k) {
      const size_t kk = size_t(k0 + k);
      const int64_t r = row_r_[kk], t = row_t_[kk], ro = row_off_[kk];
      for (int64_t g = 0; g < groups; ++g) {
        float* d = gdst[g] + k * gstride[g];
        for (int64_t l = 0; l < 16; ++l) {
          const int64_t j = 16 * g + l, h = int64_t(ih[j]) + r, v = int64_t(iw[j]) + t;
          d[l] = (h >= 0 && h < s_.H && v >= 0 && v < s_.W) ? x_[off[j] + ro] : 0.f;
        }
      }
    }
  }
#endif

  Conv2dShape s_;
  const float* x_;
  uintptr_t lo_addr_, hi_addr_;  // the bytes of x: [lo, hi)
  std::vector<int32_t> row_off_, row_r_, row_t_;
};
}  // namespace

// ---- materialised im2col and its adjoint --------------------------------------------
// im2col of channels [c0, c1) only (so a single image can be split over threads).
// ld: the row stride of col (P*Q for one image; more when several images share col).
void im2col_channels(const Conv2dShape& s, const float* x, float* col, int64_t c0, int64_t c1, int64_t ld) {
  if (s.stride == 1 && s.Q == s.W) {
    im2col_shifted(s, x, col, c0, c1, ld);
    return;
  }
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        float* row = col + ((c * s.R + r) * s.S + t) * ld;
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

void col2im_channels(const Conv2dShape& s, const float* col, float* dx, int64_t c0, int64_t c1, int64_t ld) {
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        const float* row = col + ((c * s.R + r) * s.S + t) * ld;
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

std::unique_ptr<packed_gemm::BSource> make_im2col_source(const Conv2dShape& s, const float* x) {
  return std::make_unique<Im2colB>(s, x);
}

}  // namespace sn::cpu
