#include "engine/cpu/gemm.h"

#include "engine/cpu/sgemm.h"

namespace sn::cpu {

// The packed AVX-512 SGEMM (engine/cpu/sgemm.h), which
// sums every element in a fixed order and splits the work over threads by
// itself; inside a caller's parallel loop it runs on the calling thread only.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  sgemm(trans_a, trans_b, m, n, k, A, lda, B, ldb, accumulate ? 1.f : 0.f, C, ldc);
}

}  // namespace sn::cpu
