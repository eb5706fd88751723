// cpu/gemm/kernel_avx512.cpp — the AVX-512 GEMM micro-kernel: an 8 x 48 tile of C in
// 24 zmm registers.
//
// Each step of k loads 3 vectors of the packed B strip (48 floats), broadcasts
// 8 values of A (one per row) and does 24 independent FMAs. Zen 4/5 and Intel
// cores retire 2 FMAs per cycle with a latency of 4, so 8 independent chains
// are the minimum; 24 keep both pipes busy with room to spare, and 11 loads per
// 24 FMAs stay well under the 2-3 loads per cycle the core can do.
#include "engine/cpu/gemm/kernel.h"

#include <algorithm>

#ifdef __AVX512F__
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized through their
// _mm512_undefined_ps idiom (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace sn::cpu::packed_gemm {

namespace {

// The accumulation loop shared by both kernels below: acc = A[0..MR, 0..kc) * Bp.
// A(i, k) is a[i*lda + k], or a[k*lda + i] when TA (A stored transposed).
template <int NV, bool TA>
inline void accumulate(int64_t kc, const float* a, int64_t lda, const float* b, __m512 (&acc)[kMR][NV]) {
  constexpr int MR = kMR;
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

  // Row pointers of A: each row is read sequentially along k (8 streams the
  // hardware prefetcher follows easily), so A needs no packing.
  const float* ar[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) ar[i] = a + i * lda;
  const float* at = a;  // TA: the MR values of step k are contiguous, at a + k*lda

#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(TA ? at[i] : ar[i][k]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    b += 16 * NV;
    if (TA) at += lda;
  }
}

// Epilogue of one vector, in the order the merge path uses too: + beta*C, + bias, relu.
inline __m512 finish(__m512 r, __m512 old, float beta, __m512 vbeta, bool bias, __m512 vb, bool relu) {
  if (beta == 1.f)
    r = _mm512_add_ps(r, old);
  else if (beta != 0.f)
    r = _mm512_fmadd_ps(vbeta, old, r);
  if (bias) r = _mm512_add_ps(r, vb);
  if (relu) r = _mm512_max_ps(r, _mm512_setzero_ps());
  return r;
}

template <int NV, bool TA>
void kernel_avx512(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, float beta,
                   const float* bias, bool relu) {
  __m512 acc[kMR][NV];
  accumulate<NV, TA>(kc, a, lda, b, acc);
  const __m512 vbeta = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i) {
    float* ci = c + i * ldc;
    const __m512 vb = bias ? _mm512_set1_ps(bias[i]) : zero;
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      const __m512 old = beta != 0.f ? _mm512_loadu_ps(ci + 16 * v) : zero;
      _mm512_storeu_ps(ci + 16 * v, finish(acc[i][v], old, beta, vbeta, bias, vb, relu));
    }
  }
}

// A full tile whose columns [0, split) are at c and [split, 48) at c2 (a strip
// that runs from one image into the next): same arithmetic, the vector that
// straddles is written with two masked stores.
void kernel_split_avx512(int64_t kc, const float* a, int64_t lda, const float* b, float* c, float* c2, int64_t ldc,
                         int64_t split, float beta, const float* bias, bool relu) {
  __m512 acc[kMR][kNV];
  accumulate<kNV, false>(kc, a, lda, b, acc);
  const __m512 vbeta = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
  __mmask16 lo[kNV];
  for (int v = 0; v < kNV; ++v) {
    const int64_t n = std::clamp<int64_t>(split - 16 * v, 0, 16);  // lanes of vector v that go to c
    lo[v] = __mmask16((1u << n) - 1);
  }
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i) {
    float* ci = c + i * ldc;
    float* ci2 = c2 + i * ldc;
    const __m512 vb = bias ? _mm512_set1_ps(bias[i]) : zero;
#pragma GCC unroll 3
    for (int v = 0; v < kNV; ++v) {
      const __mmask16 hi = __mmask16(~lo[v]);
      __m512 old = zero;
      if (beta != 0.f) old = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(lo[v], ci + 16 * v), hi, ci2 + 16 * v);
      const __m512 r = finish(acc[i][v], old, beta, vbeta, bias, vb, relu);
      _mm512_mask_storeu_ps(ci + 16 * v, lo[v], r);
      _mm512_mask_storeu_ps(ci2 + 16 * v, hi, r);
    }
  }
}

const KernelFn kKernels[2][3] = {{kernel_avx512<1, false>, kernel_avx512<2, false>, kernel_avx512<3, false>},
                                 {kernel_avx512<1, true>, kernel_avx512<2, true>, kernel_avx512<3, true>}};

// Edge-tile merge, vectorized: the columns split into runs that are
// contiguous in C (a strip that crosses from one image to the next has two);
// each run is done 16 columns at a time with masked loads and stores.
void merge_avx512(const float* tile, int64_t width, int64_t mr, int64_t w, float* c_row0, int64_t ldc,
                  const int64_t* coff, float beta, const float* bias, bool relu) {
  const __m512 vbeta = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
  int64_t j0 = 0;
  while (j0 < w) {
    int64_t j1 = j0 + 1;
    while (j1 < w && coff[j1] == coff[j1 - 1] + 1) ++j1;
    for (int64_t r = 0; r < mr; ++r) {
      const __m512 vb = bias ? _mm512_set1_ps(bias[r]) : zero;
      float* out = c_row0 + r * ldc + coff[j0];
      const float* in = tile + r * width + j0;
      for (int64_t j = 0; j < j1 - j0; j += 16) {
        const int64_t n = std::min<int64_t>(16, j1 - j0 - j);
        const __mmask16 m = __mmask16((1u << n) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, in + j);
        if (beta == 1.f)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, out + j));
        else if (beta != 0.f)
          v = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m, out + j), v);
        if (bias) v = _mm512_add_ps(v, vb);
        if (relu) v = _mm512_max_ps(v, zero);
        _mm512_mask_storeu_ps(out + j, m, v);
      }
    }
    j0 = j1;
  }
}

}  // namespace

const KernelFn* avx512_kernels(bool trans_a) { return kKernels[trans_a]; }
MergeFn avx512_merge() { return merge_avx512; }
SplitKernelFn avx512_split_kernel() { return kernel_split_avx512; }
bool avx512_kernel_compiled() { return true; }

}  // namespace sn::cpu::packed_gemm

#else  // no AVX-512 at compile time: the portable kernel is used

namespace sn::cpu::packed_gemm {
const KernelFn* avx512_kernels(bool) { return nullptr; }
MergeFn avx512_merge() { return nullptr; }
SplitKernelFn avx512_split_kernel() { return nullptr; }
bool avx512_kernel_compiled() { return false; }
}  // namespace sn::cpu::packed_gemm

#endif
