// cpu/softmax_rows.h — the vectorized row primitives behind cpu::softmax,
// cpu::log_softmax and cpu::cross_entropy (one place for the max shift and the exp).
//
// Eigen's vectorized exp (a polynomial on 16 floats at once, within a couple of
// ulp of std::exp) and its lane-wise sums replace a scalar std::exp per element,
// which was most of the time of these ops. The results agree with the ref::
// loops to float rounding, not bitwise (tests compare both with a double reference).
#pragma once
// GCC 12's AVX-512 headers, used by Eigen's vector exp, trip -Wmaybe-uninitialized
// (a known false positive; see cpu/conv2d_im2col.cpp). Deliberately not pushed and
// popped: the warnings point at the includer's code where these are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Core>
#include <cmath>
#include <cstdint>

namespace sn::cpu::rows {

using RowIn = Eigen::Map<const Eigen::ArrayXf>;
using RowOut = Eigen::Map<Eigen::ArrayXf>;

// Vector max (a scalar compare chain does not vectorize). With a NaN in the row
// it may or may not return it, but the row's sum of exps is NaN either way.
inline float max(int64_t K, const float* x) { return RowIn(x, K).maxCoeff(); }

// log(sum_j exp(x[j])), the max subtracted first. x (K)
inline float logsumexp(int64_t K, const float* x) {
  const float m = max(K, x);
  return m + std::log((RowIn(x, K) - m).exp().sum());
}

// out = exp(x - max(x)); returns sum(out). x, out (K): a softmax row before its division.
inline float exp_shifted(int64_t K, const float* x, float* out) {
  const float m = max(K, x);
  RowOut o(out, K);
  o = (RowIn(x, K) - m).exp();
  return o.sum();
}

}  // namespace sn::cpu::rows
