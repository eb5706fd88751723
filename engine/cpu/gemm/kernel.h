// cpu/gemm/kernel.h — the GEMM micro-kernels (internal to the GEMM driver).
//
// kernel<NV>(kc, a, lda, b, c, ldc, beta, bias, relu) computes one tile
//   C[0..MR, 0..16*NV) = sum_k A[i][k] * Bp[k][0..16*NV)  (+ beta*C) (+ bias[i]), relu
// with A row-major (row stride lda, MR rows all valid) -- or, for the
// trans_a kernels, A(i, k) at a[k*lda + i] -- and Bp a packed strip
// (kc rows of 16*NV floats). NV = 1, 2 or 3: the narrow versions serve the
// last, partial strip of a matrix.
#pragma once
#include <cstdint>

#include "engine/cpu/gemm/driver.h"

namespace sn::cpu::packed_gemm {

using KernelFn = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, float beta,
                          const float* bias, bool relu);

// Merges an edge tile computed into `tile` (rows of `width` floats) into C:
// rows [0, mr), columns [0, w), column j of row r at c_row0 + r*ldc + coff[j],
// with the kernel's epilogue arithmetic (+ beta*C, + bias[r], relu).
using MergeFn = void (*)(const float* tile, int64_t width, int64_t mr, int64_t w, float* c_row0, int64_t ldc,
                         const int64_t* coff, float beta, const float* bias, bool relu);
MergeFn avx512_merge();  // null when AVX-512 is not compiled in
void merge_portable(const float* tile, int64_t width, int64_t mr, int64_t w, float* c_row0, int64_t ldc,
                    const int64_t* coff, float beta, const float* bias, bool relu);

// A full MR x NR tile whose columns [0, split) are at c and [split, NR) at c2
// (element (i, j) at c + i*ldc + j, resp. c2 + i*ldc + j): the strip runs from
// one image into the next. Null where only the merge path exists.
using SplitKernelFn = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c, float* c2,
                               int64_t ldc, int64_t split, float beta, const float* bias, bool relu);
SplitKernelFn avx512_split_kernel();

// kernels(trans_a)[NV - 1]: the AVX-512 ones when compiled in, else the portable ones.
const KernelFn* avx512_kernels(bool trans_a);  // null when AVX-512 is not compiled in
const KernelFn* portable_kernels(bool trans_a);

}  // namespace sn::cpu::packed_gemm
