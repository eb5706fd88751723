// launch.cuh — shared launch helpers for the .cu files (device code included).
//
// Element-wise kernels use a grid-stride loop over int64 indices: the grid is
// capped (a few waves over any GPU), each thread then strides over the rest,
// so any n fits and no index overflows 32 bits.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cuda_check.h"
#include "kernels/stream.h"

namespace sn::cuda {

constexpr int kBlock = 256;

inline int blocks_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<int>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 4096));
}

// for (int64_t i : grid_stride(n)) does not exist in CUDA C++, so:
#define SN_GRID_STRIDE_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// Sum of v over the 32 lanes of a warp, returned to every lane.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Sum over a whole block (blockDim.x a multiple of 32, at most 1024), returned
// to every thread. `scratch` is 32 values of shared memory. Fixed order: the
// result is the same every run. Contains __syncthreads: call from all threads.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : T(0);
  return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

// One row x[0..K) reduced by a whole block, for softmax and cross-entropy:
// m = max_k x[k] and log_sum = log(sum_k exp(x[k] - m)), on every thread.
// Subtracting the max keeps exp() from overflowing. Fixed order (block_max,
// block_sum): the same bits every run. Contains __syncthreads: call from all threads.
__device__ __forceinline__ void row_max_logsumexp(const float* x, int64_t K, float* scratch, float& m, float& log_sum) {
  float v = -INFINITY;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) v = fmaxf(v, x[k]);
  m = block_max(v, scratch);
  float s = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) s += expf(x[k] - m);
  log_sum = logf(block_sum(s, scratch));
}

}  // namespace sn::cuda
