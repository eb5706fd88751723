// cpu/gemm.h — the matrix product behind conv2d and linear on the CPU.
//
// C (m,n) = op(A) (m,k) * op(B) (k,n)   [+ C when accumulate], all row-major,
// where op(A) = A, or A^T when trans_a (then A is stored as (k,m)); same for B.
// lda/ldb/ldc are the row strides of the matrices as stored.
//
// gemm() is Eigen's blocked GEMM kernel called directly and always on one
// thread: Eigen's own threading picks its cache blocking from the thread count,
// which would make results depend on it. gemm_tiled() adds our threading: it
// cuts C into tiles whose bounds depend only on (m, n), so every element of C
// is computed by the same sequence of operations whatever the thread count.
#pragma once
#include <cstdint>

namespace sn::cpu {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc, bool accumulate);

// Same result as gemm(), tiled; tiles run on all threads when `parallel`, else
// one after another on the calling thread (use that inside a parallel loop).
void gemm_tiled(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
                const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate, bool parallel);

}  // namespace sn::cpu
