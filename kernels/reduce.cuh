// reduce.cuh — sums over axes, for bias gradients and batch statistics.
//
// x is seen as (outer, C, inner), contiguous; y (C) = the sum over outer and inner:
//   linear bias grad:  dy (N, out)      -> outer = N, C = out, inner = 1
//   conv bias grad:    dy (N, K, P, Q)  -> outer = N, C = K,   inner = P*Q
// Deterministic: a fixed summation order, no atomics; y is overwritten.
#pragma once
#include <cstdint>

namespace sn::cuda {

void sum_outer_inner(const float* x, float* y, int64_t outer, int64_t C, int64_t inner);

}  // namespace sn::cuda
