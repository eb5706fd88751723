// cpu/conv2d_nchwc_bf16.cpp — the bfloat16 register-tile kernels of the blocked
// convolution (the driver and the packing are in conv2d_nchwc.cpp).
//
// Same tile as the float32 kernel (M pixels x 64 output channels in 24
// accumulators), but x and w are bfloat16 and each step takes two input
// channels: vdpbf16ps multiplies 32 bfloat16 pairs and adds both products of
// each pair to a float32 lane, twice the work of a float32 FMA in one
// instruction. A pixel's 16 channels are 8 such steps; the pair (x[c], x[c+1])
// is one 32-bit broadcast. Sums, bias, residual and ReLU stay float32; the
// result is rounded to bfloat16 (nearest even) only when stored.
#include <cstdint>
#include <cstring>

#include "engine/cpu/conv2d_nchwc.h"
#include "engine/cpu/conv2d_nchwc_tile.h"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif

namespace sn::cpu::nchwc {

namespace tile {

#if defined(__AVX512BF16__) && defined(__AVX512F__)
namespace {

alignas(64) const uint16_t kZeros16[16] = {};

inline __m512 load_out(const void* p, bool bf16) {
  if (!bf16) return _mm512_loadu_ps(static_cast<const float*>(p));
  // bfloat16 -> float32: the 16 bits become the top half of each lane.
  const __m256i h = _mm256_loadu_si256(static_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// acc[m][o] += sum over the tap's 16 channels (8 pairs), pixels in `valid` only when MASKED.
template <int M, int OCB, bool MASKED>
__attribute__((always_inline)) inline void pair_steps(__m512 (&acc)[M][OCB], const uint16_t* const (&p)[M],
                                                      const uint16_t*& w, uint32_t valid) {
  SN_UNROLL_STEPS
  for (int c2 = 0; c2 < 8; ++c2) {
    __m512bh wv[OCB];
#pragma GCC unroll 4
    for (int o = 0; o < OCB; ++o) wv[o] = (__m512bh)_mm512_load_si512(w + 32 * o);
#pragma GCC unroll 6
    for (int m = 0; m < M; ++m) {
      if (MASKED && !((valid >> m) & 1u)) continue;
      int32_t pair;
      std::memcpy(&pair, p[m] + 2 * c2, 4);
      const __m512bh b = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
      for (int o = 0; o < OCB; ++o) acc[m][o] = _mm512_dpbf16_ps(acc[m][o], b, wv[o]);
    }
    w += 32 * OCB;
  }
}

template <int M, int OCB, bool CHECK, bool OUT_BF16>
void kernel(const TileArgs& a) {
  const uint16_t* x = static_cast<const uint16_t*>(a.x);
  const size_t elem = OUT_BF16 ? 2 : 4;
  __m512 acc[M][OCB];
#pragma GCC unroll 6
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int o = 0; o < OCB; ++o) {
      acc[m][o] = _mm512_load_ps(a.bias + 16 * o);
      if (a.accumulate)
        acc[m][o] =
            _mm512_add_ps(load_out(static_cast<char*>(a.y[m]) + size_t(o * a.ystride) * elem, OUT_BF16), acc[m][o]);
    }
  const uint16_t* w = static_cast<const uint16_t*>(a.w);
  constexpr uint32_t all = (1u << M) - 1;
  for (int64_t t = 0; t < a.ntaps; ++t) {
    const Tap tap = a.taps[t];
    const uint16_t* p[M];
    uint32_t valid = all;
#pragma GCC unroll 6
    for (int m = 0; m < M; ++m) {
      const bool inside =
          !CHECK || (unsigned(a.ih0[m] + tap.r) < unsigned(a.H) && unsigned(a.iw0[m] + tap.s) < unsigned(a.W));
      p[m] = inside ? x + a.base[m] + tap.off : kZeros16;
      if (!inside) valid &= ~(1u << m);
    }
    if (!CHECK || valid == all)
      pair_steps<M, OCB, false>(acc, p, w, all);
    else if (valid == 0)
      w += 8 * 32 * OCB;
    else
      pair_steps<M, OCB, true>(acc, p, w, valid);
  }
  const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.f);
#pragma GCC unroll 6
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int o = 0; o < OCB; ++o) {
      __m512 v = acc[m][o];
      if (a.act != Activation::None) v = _mm512_max_ps(v, zero);
      if (a.act == Activation::ReLU6) v = _mm512_min_ps(v, six);
      char* dst = static_cast<char*>(a.y[m]) + size_t(o * a.ystride) * elem;
      if (OUT_BF16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), (__m256i)_mm512_cvtneps_pbh(v));
      else
        _mm512_storeu_ps(reinterpret_cast<float*>(dst), v);
    }
}

#define SN_OUT(M, OCB, CHECK) \
  { kernel<M, OCB, CHECK, false>, kernel<M, OCB, CHECK, true> }
#define SN_OCB(M, OCB) \
  { SN_OUT(M, OCB, false), SN_OUT(M, OCB, true) }
#define SN_ROW(M) \
  { SN_OCB(M, 1), SN_OCB(M, 2), SN_OCB(M, 3), SN_OCB(M, 4) }
// kTable[M-1][OCB-1][edge][out_bf16]
const KernelFn kTable[kMaxM][kGroup][2][2] = {SN_ROW(1), SN_ROW(2), SN_ROW(3), SN_ROW(4), SN_ROW(5), SN_ROW(6)};
#undef SN_ROW
#undef SN_OCB
#undef SN_OUT
}  // namespace

KernelFn bf16_kernel(int m, int ocb, bool edge, bool out_bf16) { return kTable[m - 1][ocb - 1][edge][out_bf16]; }
#else
KernelFn bf16_kernel(int, int, bool, bool) { return nullptr; }
#endif

}  // namespace tile

bool bf16_supported() {
#if defined(__AVX512BF16__) && defined(__AVX512F__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

}  // namespace sn::cpu::nchwc
