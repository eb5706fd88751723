// gemm.cu — a tiled SGEMM: shared-memory tiles, register blocking, float4 loads.
//
// Each block of 256 threads computes a 128x128 tile of C. It walks K in steps
// of 8: the 128x8 slice of op(A) and the 8x128 slice of op(B) go to shared
// memory, stored k-major (As[k][m], Bs[k][n]) so that a thread reads 4
// consecutive m (or n) as one float4. Each thread owns an 8x8 block of C in
// registers: rows {ty*4 .. ty*4+3} and {64+ty*4 .. 64+ty*4+3}, columns
// likewise with tx. Per k it loads 8 values of A and 8 of B from shared
// memory (4 float4 loads) and does 64 FMAs: 16 FMAs per shared load, which
// keeps the FMA units, not shared memory, the limit.
//
// Latency hiding: two shared buffers. While the block computes on one, each
// thread already holds the next slice in registers (loaded from global memory
// before the compute), and stores it to the other buffer after the compute:
// one __syncthreads per step of K.
//
// Edges: tiles that stick out of M, N or K load zeros and skip stores; float4
// global loads are used only where the 4 elements are inside the matrix and
// 16-byte aligned, else the 4 elements are loaded one by one.
//
// Split-K (sgemm_split_k): when M x N has few tiles and K is long (a conv's weight
// gradient: K = N*P*Q, 401,408 for ResNet's first conv at batch 32, on 2 tiles),
// grid.z slices K: block z multiplies its slice into its own (M,N) partial, and a
// second kernel adds the partials in order (deterministic, no atomics).
#include <algorithm>
#include <cstdint>

#include "kernels/allocator.h"

#include "kernels/gemm.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {

constexpr int BM = 128, BN = 128, BK = 8, kThreads = 256;
constexpr int kPad = 4;  // shared rows of 132 floats: the transposing stores hit 32 different banks

// Loads 4 consecutive floats p[0..3], of which only the first `valid` (0..4)
// exist; the others read as 0. float4 when all 4 exist and `vec` (aligned).
__device__ __forceinline__ float4 load4(const float* p, int valid, bool vec) {
  if (valid >= 4 && vec) return __ldg(reinterpret_cast<const float4*>(p));
  float4 r = make_float4(0.f, 0.f, 0.f, 0.f);
  if (valid > 0) r.x = __ldg(p);
  if (valid > 1) r.y = __ldg(p + 1);
  if (valid > 2) r.z = __ldg(p + 2);
  if (valid > 3) r.w = __ldg(p + 3);
  return r;
}

__device__ __forceinline__ int clamp4(int64_t n) { return n <= 0 ? 0 : (n >= 4 ? 4 : static_cast<int>(n)); }

// SPLIT (split-K): block z takes k in [z*k_slice, (z+1)*k_slice) (k_slice a multiple
// of BK, so float4 alignment is kept) and writes C + z*c_stride. A template flag, so
// that the plain kernels compile exactly as without it (registers: see GPU_NOTES.md).
template <bool TA, bool TB, bool SPLIT>
__global__ void __launch_bounds__(kThreads, 2)
    sgemm_kernel(int M, int N, int K, float alpha, const float* __restrict__ A, int64_t lda,
                 const float* __restrict__ B, int64_t ldb, float beta, float* __restrict__ C, int64_t ldc,
                 const float* __restrict__ bias, bool vecA, bool vecB, bool vecC, int k_slice, int64_t c_stride) {
  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];

  if constexpr (SPLIT) {
    const int kz = blockIdx.z * k_slice;
    A += TA ? int64_t(kz) * lda : int64_t(kz);
    B += TB ? int64_t(kz) : int64_t(kz) * ldb;
    C += blockIdx.z * c_stride;
    K = min(K - kz, k_slice);
  }

  const int tid = threadIdx.x;
  const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;

  // Which 4 elements of A and of B this thread copies to shared memory per step.
  // Not transposed, A (M,K): row tid/2, 4 consecutive k at (tid%2)*4 (a warp reads 16 rows x 32 bytes).
  // Transposed, A stored (K,M): k row tid/32, 4 consecutive m at (tid%32)*4 (a warp reads 512 contiguous bytes).
  const int a_row = TA ? tid / 32 : tid / 2;              // k (TA) or m offset in the tile
  const int a_col = TA ? (tid % 32) * 4 : (tid % 2) * 4;  // m (TA) or k offset
  const int b_row = TB ? tid / 2 : tid / 32;              // n (TB) or k offset
  const int b_col = TB ? (tid % 2) * 4 : (tid % 32) * 4;  // k (TB) or n offset

  // Compute layout: warp w covers rows (w/2)*16.. and columns (w%2)*32.. of each
  // 64x64 quarter; inside a warp, 4 rows of threads x 8 columns, so a shared
  // load of A touches 4 float4s and one of B 8 float4s (no bank conflicts).
  const int warp = tid / 32, lane = tid % 32;
  const int tx = (warp % 2) * 8 + lane % 8;  // 0..15
  const int ty = (warp / 2) * 4 + lane / 8;  // 0..15

  auto load_a = [&](int k0) -> float4 {
    if (TA) {
      const int64_t k = k0 + a_row, m = bm + a_col;
      return load4(A + k * lda + m, k < K ? clamp4(M - m) : 0, vecA);
    } else {
      const int64_t m = bm + a_row, k = k0 + a_col;
      return load4(A + m * lda + k, m < M ? clamp4(K - k) : 0, vecA);
    }
  };
  auto load_b = [&](int k0) -> float4 {
    if (TB) {
      const int64_t n = bn + b_row, k = k0 + b_col;
      return load4(B + n * ldb + k, n < N ? clamp4(K - k) : 0, vecB);
    } else {
      const int64_t k = k0 + b_row, n = bn + b_col;
      return load4(B + k * ldb + n, k < K ? clamp4(N - n) : 0, vecB);
    }
  };
  auto store_a = [&](int buf, float4 v) {
    if (TA) {
      *reinterpret_cast<float4*>(&As[buf][a_row][a_col]) = v;
    } else {  // transpose on the way in: 4 k values of one m
      As[buf][a_col + 0][a_row] = v.x;
      As[buf][a_col + 1][a_row] = v.y;
      As[buf][a_col + 2][a_row] = v.z;
      As[buf][a_col + 3][a_row] = v.w;
    }
  };
  auto store_b = [&](int buf, float4 v) {
    if (TB) {
      Bs[buf][b_col + 0][b_row] = v.x;
      Bs[buf][b_col + 1][b_row] = v.y;
      Bs[buf][b_col + 2][b_row] = v.z;
      Bs[buf][b_col + 3][b_row] = v.w;
    } else {
      *reinterpret_cast<float4*>(&Bs[buf][b_row][b_col]) = v;
    }
  };

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  // Prologue: the first slice.
  store_a(0, load_a(0));
  store_b(0, load_b(0));
  __syncthreads();

  int buf = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool has_next = k0 + BK < K;
    float4 next_a, next_b;
    if (has_next) {  // in flight while we compute
      next_a = load_a(k0 + BK);
      next_b = load_b(k0 + BK);
    }
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][kk][64 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (has_next) {
      // The other buffer was last read in the previous step, which ended with a barrier.
      store_a(buf ^ 1, next_a);
      store_b(buf ^ 1, next_b);
    }
    __syncthreads();  // the stores are visible before the next step reads them
    buf ^= 1;
  }

  // Epilogue: C = alpha * acc + beta * C (+ bias), float4 where it fits.
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t r = bm + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (r >= M) continue;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t c = bn + h * 64 + tx * 4;
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = alpha * acc[i][h * 4 + j];
      float* out = C + r * ldc + c;
      if (vecC && c + 3 < N) {
        if (bias) {
          const float4 bb = *reinterpret_cast<const float4*>(bias + c);  // vecC implies bias is aligned
          v[0] += bb.x, v[1] += bb.y, v[2] += bb.z, v[3] += bb.w;
        }
        if (beta != 0.f) {
          const float4 old = *reinterpret_cast<const float4*>(out);
          v[0] += beta * old.x, v[1] += beta * old.y, v[2] += beta * old.z, v[3] += beta * old.w;
        }
        *reinterpret_cast<float4*>(out) = make_float4(v[0], v[1], v[2], v[3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (c + j >= N) break;
          float o = v[j];
          if (bias) o += bias[c + j];
          if (beta != 0.f) o += beta * out[j];
          out[j] = o;
        }
      }
    }
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// C (M,N) = sum over z of partial z (M,N, stored z*stride on), in order of z (+ beta * C).
// (One division per element, against `splits` loads: not worth a cursor.)
__global__ void sum_partials_kernel(const float* __restrict__ partial, int splits, int64_t stride, int64_t M, int64_t N,
                                    float beta, float* __restrict__ C, int64_t ldc) {
  SN_GRID_STRIDE_LOOP(i, M * N) {
    float s = 0.f;
    for (int z = 0; z < splits; ++z) s += partial[z * stride + i];
    const int64_t r = i / N, c = i - r * N;
    float* out = C + r * ldc + c;
    *out = beta != 0.f ? s + beta * *out : s;
  }
}

void check_args(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  SN_CHECK(M >= 0 && N >= 0 && K >= 0, "sgemm: negative size M=", M, " N=", N, " K=", K);
  constexpr int64_t kMax = (int64_t(1) << 31) - 256;  // sizes and k0 + BK stay in int
  SN_CHECK(M < kMax && N < kMax && K < kMax, "sgemm: size over 2^31: M=", M, " N=", N, " K=", K);
  SN_CHECK(lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N,
           "sgemm: leading dimension too small: lda=", lda, " ldb=", ldb, " ldc=", ldc, " for M=", M, " N=", N,
           " K=", K, " trans_a=", trans_a, " trans_b=", trans_b);
  SN_CHECK((M + BM - 1) / BM <= 65535, "sgemm: M=", M, " needs ", (M + BM - 1) / BM,
           " row tiles, more than the 65535 a grid allows");
}

// One launch of sgemm_kernel over `splits` slices of K (1: the plain product).
void launch(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
            const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias, int splits, int k_slice,
            int64_t c_stride) {
  const int64_t grid_y = (M + BM - 1) / BM, grid_x = (N + BN - 1) / BN;
  // K == 0 is fine: the K loop is empty and the epilogue writes beta * C (+ bias).
  const bool vecA = lda % 4 == 0 && aligned16(A);
  const bool vecB = ldb % 4 == 0 && aligned16(B);
  const bool vecC = ldc % 4 == 0 && aligned16(C) && (bias == nullptr || aligned16(bias));
  const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y), static_cast<unsigned>(splits));
  cudaStream_t s = current_stream();
  const int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K);
  const int which = (trans_a ? 1 : 0) + (trans_b ? 2 : 0) + (splits > 1 ? 4 : 0);
  auto go = [&](auto kernel) {
    kernel<<<grid, kThreads, 0, s>>>(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, bias, vecA, vecB, vecC, k_slice,
                                     c_stride);
  };
  switch (which) {
    case 0:
      go(sgemm_kernel<false, false, false>);
      break;
    case 1:
      go(sgemm_kernel<true, false, false>);
      break;
    case 2:
      go(sgemm_kernel<false, true, false>);
      break;
    case 3:
      go(sgemm_kernel<true, true, false>);
      break;
    case 4:
      go(sgemm_kernel<false, false, true>);
      break;
    case 5:
      go(sgemm_kernel<true, false, true>);
      break;
    case 6:
      go(sgemm_kernel<false, true, true>);
      break;
    default:
      go(sgemm_kernel<true, true, true>);
      break;
  }
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias) {
  check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  launch(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, 1, static_cast<int>(K), 0);
}

int split_k_count(int64_t M, int64_t N, int64_t K) {
  constexpr int64_t kTargetBlocks = 264;                    // two blocks per SM on a 132-SM H100/H200
  constexpr int64_t kMinSlice = 1024;                       // k per slice, at least: the partials' traffic stays small
  constexpr int64_t kMaxPartialFloats = int64_t(16) << 20;  // 64 MB of partials at most
  constexpr int64_t kMaxSplits = 128;
  if (M <= 0 || N <= 0) return 1;
  const int64_t tiles = ((M + BM - 1) / BM) * ((N + BN - 1) / BN);
  const int64_t splits =
      std::min({(kTargetBlocks + tiles - 1) / tiles, K / kMinSlice, kMaxPartialFloats / (M * N), kMaxSplits});
  return static_cast<int>(std::max<int64_t>(1, splits));
}

void sgemm_split_k(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int splits) {
  check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  SN_CHECK(splits >= 1, "sgemm_split_k: splits must be >= 1, got ", splits);
  if (M == 0 || N == 0) return;
  // Slices of a multiple of BK (float4 alignment of A and B is kept), none empty.
  int64_t k_slice = (K + splits - 1) / splits;
  k_slice = (k_slice + BK - 1) / BK * BK;
  const int64_t used = k_slice > 0 ? (K + k_slice - 1) / k_slice : 0;
  if (used <= 1) {
    launch(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr, 1, static_cast<int>(K), 0);
    return;
  }
  const int64_t stride = (M * N + 3) / 4 * 4;  // every partial 16-byte aligned (the epilogue's float4 stores)
  DeviceBuffer partial(static_cast<size_t>(used * stride) * sizeof(float));
  launch(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, 0.f, partial.as<float>(), N, nullptr, static_cast<int>(used),
         static_cast<int>(k_slice), stride);
  sum_partials_kernel<<<blocks_for(M * N), kBlock, 0, current_stream()>>>(partial.as<float>(), static_cast<int>(used),
                                                                          stride, M, N, beta, C, ldc);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
