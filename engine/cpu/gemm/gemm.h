// cpu/gemm/gemm.h — the CPU matrix product, the one entry point of engine/cpu/gemm/:
// C = op(A) op(B) + beta C, row-major float32. Linear and the conv backward call it.
//
//   ref::gemm_naive  three plain loops (float and double), the yardstick for tests.
//   cpu::sgemm       the fast path: packed, cache-blocked, an AVX-512 register-tile
//                    micro-kernel (a portable C++ kernel when AVX-512 is not
//                    compiled in), threaded with OpenMP. Every C element is summed
//                    in the same order whatever the thread count, so results are
//                    bit-identical with 1 or 2 threads. Called inside a caller's
//                    parallel loop, it runs on the calling thread only.
//
// The folder:  gemm.{h,cpp} this entry;  driver.{h,cpp} the blocked loops, packing
// of B and threading;  kernel.h, kernel_avx512.cpp, kernel_portable.cpp the
// register-tile micro-kernels. The driver also runs the convolution forward, whose
// B is an im2col matrix that is never materialized (engine/cpu/conv2d_im2col.cpp).
#pragma once
#include <cstdint>

namespace sn {

namespace ref {
// C (M,N) = op(A) (M,K) * op(B) (K,N) + beta * C. op(A) = A^T when trans_a, in
// which case A is stored (K,M) with row stride lda; likewise B.
template <typename T>
void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc);
}  // namespace ref

namespace cpu {
// Same contract as ref::gemm_naive. With beta == 0, C is only written (it may hold NaNs);
// beta == 1 accumulates into C.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc);
}  // namespace cpu

}  // namespace sn
