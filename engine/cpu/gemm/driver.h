// cpu/gemm/driver.h — the blocked GEMM engine shared by sgemm and convolution.
//
// Callers multiply matrices through gemm.h (cpu::sgemm). This header is for a
// caller that supplies B itself, packed on the fly (the convolution's implicit
// im2col, engine/cpu/conv2d_im2col.cpp).
//
// C (M,N) = A (M,K) * B (K,N), computed the GotoBLAS way:
//
//   for each column chunk of NC columns      (one task; tasks run on threads)
//     for each block of KC rows of B         (the "depth" loop)
//       pack B[KC, NC] into strips of NR columns: contiguous, zero-padded
//       for each block of MC rows of A       (A stays row-major: no packing)
//         for each strip, for each MR rows:  micro-kernel: an MR x NR tile of C
//                                            lives in registers for all KC steps
//
// The micro-kernel (kernel.h) does MR*NR/16 vector FMAs per step of k for
// MR broadcasts and NR/16 vector loads, which is what lets it run near the FMA
// peak. B is reached only through a BSource, which packs any [KC x w] block:
// for a plain matrix that is a copy; for a convolution it is im2col done on the
// fly, straight into the packed layout (no im2col matrix in memory).
//
// C is reached through a CTarget, which can split columns into groups (conv:
// one group per image, because the output is (N,K,P,Q) while the GEMM's
// columns run over (image, p, q)).
//
// Determinism: each C element is the sum over k of A*B in increasing k, in
// fixed KC blocks, whatever the tiling or the thread count.
#pragma once
#include <algorithm>
#include <cstdint>

namespace sn::cpu::packed_gemm {

// Register tile and cache blocks. MR x NR = 8 x 48: 24 accumulators of 16
// floats, + 3 B vectors + 1 broadcast = 28 of the 32 AVX-512 registers.
constexpr int kMR = 8;
constexpr int kNV = 3;         // vectors of 16 floats per tile row
constexpr int kNR = kNV * 16;  // 48
constexpr int kKC = 256;       // depth block: a KC x NR strip of B is 48 KB
constexpr int kMC = 128;       // rows of A per block: MC x KC = 128 KB, kept in L2
constexpr int kNC = 5 * kNR;   // columns per task: the packed B block is KC x NC = 240 KB

// Packs a block of B: rows [k0, k0+kc), columns [j0, j0+w) into `dst` as kc
// rows of `width` floats (width = w rounded up to 16, at most kNR); columns
// w..width-1 are zero.
class BSource {
 public:
  virtual ~BSource() = default;
  virtual void pack(int64_t k0, int64_t kc, int64_t j0, int64_t w, int64_t width, float* dst) const = 0;
  // Packs columns [j0, j0+w) (w <= kNC) as consecutive strips of kNR columns,
  // strip s at dst + s*strip_stride. The default packs strip by strip; a
  // source may walk the rows across all strips instead (better for memory
  // streams: one long run of x per row rather than many short ones).
  virtual void pack_block(int64_t k0, int64_t kc, int64_t j0, int64_t w, float* dst, int64_t strip_stride) const {
    for (int64_t s = 0; s * kNR < w; ++s) {
      const int64_t ws = std::min<int64_t>(kNR, w - s * kNR);
      pack(k0, kc, j0 + s * kNR, ws, (ws + 15) / 16 * 16, dst + s * strip_stride);
    }
  }
};

// Where C(m, j) lives: columns come in groups of group_cols (one image of a
// convolution, or all N for a plain matrix), group g starting at g*group_stride.
struct CTarget {
  float* c = nullptr;
  int64_t ldc = 0;  // distance between rows m and m+1 within a group
  int64_t group_cols = 0;
  int64_t group_stride = 0;
  float* at(int64_t m, int64_t j) const { return c + (j / group_cols) * group_stride + m * ldc + (j % group_cols); }
};

// What happens to the accumulated product when it is written:
//   C = A*B + beta*C_old (+ bias[m]) , then max(., 0) if relu.
struct Epilogue {
  float beta = 0;               // 0: C_old is never read
  const float* bias = nullptr;  // length M, or null
  bool relu = false;
};

// A is row-major (M,K) with row stride lda; with trans_a it is stored (K,M)
// (A(i, k) at A[k*lda + i]), read in place by the trans_a micro-kernels.
void run(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const BSource& B, const CTarget& C,
         const Epilogue& ep);

// Tests only: use the portable C++ micro-kernel even where AVX-512 is compiled
// in, so the fallback path is checked on this machine too.
void force_portable_kernel(bool on);
bool avx512_kernel_compiled();

}  // namespace sn::cpu::packed_gemm
