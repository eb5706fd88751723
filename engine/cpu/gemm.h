// cpu/gemm.h — the matrix product behind conv2d and linear on the CPU.
//
// C (m,n) = op(A) (m,k) * op(B) (k,n)   [+ C when accumulate], all row-major,
// where op(A) = A, or A^T when trans_a (then A is stored as (k,m)); same for B.
// lda/ldb/ldc are the row strides of the matrices as stored.
//
// It runs the packed AVX-512 SGEMM of engine/cpu/sgemm.h, whose results do
// not depend on the thread count: the SGEMM threads itself, and runs on the
// calling thread inside a parallel loop.
#pragma once
#include <cstdint>

namespace sn::cpu {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc, bool accumulate);

}  // namespace sn::cpu
