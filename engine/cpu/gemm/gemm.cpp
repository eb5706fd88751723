#include "engine/cpu/gemm/gemm.h"

#include <algorithm>
#include <cstring>

#include "engine/check.h"
#include "engine/cpu/gemm/driver.h"

#ifdef __AVX__
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#endif

namespace sn {

// ---- reference: the textbook triple loop ---------------------------------------
namespace ref {
template <typename T>
void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T s = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        const T b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
      }
      C[i * ldc + j] = beta == T(0) ? s : s + beta * C[i * ldc + j];
    }
}
template void gemm_naive<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                                float, float*, int64_t);
template void gemm_naive<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                                 double, double*, int64_t);
}  // namespace ref

namespace cpu::packed_gemm {

// ---- dense B: a plain (K,N) matrix, or the transpose of an (N,K) one --------------
namespace {
#ifdef __AVX__
// dst rows 0..7 (stride ldd) = the transpose of src rows 0..7 (stride lds), 8 floats
// each: the classic unpack / shuffle / lane-permute 8x8 transpose (pure data movement).
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

class DenseB : public BSource {
 public:
  DenseB(const float* b, int64_t ldb, bool trans) : b_(b), ldb_(ldb), trans_(trans) {}
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t w, int64_t width, float* dst) const override {
    if (!trans_) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = b_ + (k0 + k) * ldb_ + j0;
        float* d = dst + k * width;
        std::memcpy(d, src, sizeof(float) * w);
        for (int64_t j = w; j < width; ++j) d[j] = 0.f;
      }
    } else {
      // B(k, j) = Bt[j][k]: read each row of Bt contiguously, write a column;
      // with AVX, 8x8 blocks at a time (one element per instruction was ~25% of
      // a conv weight-gradient GEMM, whose B is the transposed im2col matrix).
      int64_t j = 0;
#ifdef __AVX__
      for (; j + 8 <= w; j += 8) {
        const float* src = b_ + (j0 + j) * ldb_ + k0;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) transpose8x8(src + k, ldb_, dst + k * width + j, width);
        for (; k < kc; ++k)
          for (int64_t jj = 0; jj < 8; ++jj) dst[k * width + j + jj] = src[jj * ldb_ + k];
      }
#endif
      for (; j < w; ++j) {
        const float* src = b_ + (j0 + j) * ldb_ + k0;
        for (int64_t k = 0; k < kc; ++k) dst[k * width + j] = src[k];
      }
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t j = w; j < width; ++j) dst[k * width + j] = 0.f;
    }
  }

 private:
  const float* b_;
  int64_t ldb_;
  bool trans_;
};
}  // namespace

}  // namespace cpu::packed_gemm

namespace cpu {
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) {
  SN_CHECK(M >= 0 && N >= 0 && K >= 0, "sgemm: negative size M=", M, " N=", N, " K=", K);
  packed_gemm::DenseB b(B, ldb, trans_b);
  packed_gemm::CTarget c{C, ldc, std::max<int64_t>(N, 1), 0};
  packed_gemm::Epilogue ep;
  ep.beta = beta;
  packed_gemm::run(M, N, K, A, lda, trans_a, b, c, ep);
}
}  // namespace cpu

}  // namespace sn
