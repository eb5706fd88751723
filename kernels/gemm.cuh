// gemm.cuh — our float32 matrix product on the GPU (no TF32, no tensor cores).
//
//   C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C  [+ bias[n] on every row]
//
// All matrices row-major, as engine/cpu/gemm/gemm.h: op(A) = A, or A^T when trans_a
// (then A is stored (K,M)); the same for B. lda/ldb/ldc are the row strides as
// stored. beta == 0 never reads C (it may hold NaN or garbage). bias (N) or null.
// Device pointers; runs on current_stream().
#pragma once
#include <cstdint>

namespace sn::cuda {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias = nullptr);

// The same product (no bias) with K cut into `splits` slices computed by separate
// blocks of one launch, each into its own partial (M,N) (a workspace from the
// allocator), then summed in slice order: for products whose M x N has too few
// 128x128 tiles to fill the GPU and whose K is long (a conv's weight gradient).
// Deterministic; the sum's rounding differs from sgemm's only in the order.
void sgemm_split_k(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int splits);
// How many slices sgemm_split_k should use for this shape (1: none): enough blocks
// for two per SM of an H100/H200, slices of at least 1024, partials under 64 MB.
int split_k_count(int64_t M, int64_t N, int64_t K);

}  // namespace sn::cuda
