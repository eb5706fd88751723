#include "engine/cpu/sgemm.h"

#include <algorithm>
#include <cstring>

#include "engine/check.h"
#include "engine/cpu/gemm_driver.h"

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
template void gemm_naive<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float,
                          float*, int64_t);
template void gemm_naive<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                           double, double*, int64_t);
}  // namespace ref

namespace cpu::packed_gemm {

// ---- dense B: a plain (K,N) matrix, or the transpose of an (N,K) one --------------
namespace {
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
      // B(k, j) = Bt[j][k]: read each row of Bt contiguously, write a column.
      for (int64_t j = 0; j < w; ++j) {
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
