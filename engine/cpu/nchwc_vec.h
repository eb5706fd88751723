// cpu/nchwc_vec.h — the 16 channels of one blocked pixel (nchwc.h) as one value:
// an AVX-512 vector where the build has AVX-512, a plain array otherwise. Every
// operation is per lane with one rounding, so both give the same results.
// Internal to the blocked-layout kernels (conv2d_nchwc*.cpp, conv2d_winograd.cpp).
//
// Including it also silences, for the including file, GCC 12's
// -Wmaybe-uninitialized false positives in its AVX-512 headers.
#pragma once
#include <algorithm>

#include "engine/cpu/nchwc.h"  // kBlock, Activation

#ifdef __AVX512F__
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif

namespace sn::cpu::nchwc {

#ifdef __AVX512F__
using Vec = __m512;
inline Vec vload(const float* p) { return _mm512_load_ps(p); }  // p 64-byte aligned
inline Vec vloadu(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm512_store_ps(p, v); }  // p 64-byte aligned
inline void vstoreu(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline Vec vsub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }  // a * b + c
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vset(float a) { return _mm512_set1_ps(a); }
inline Vec vrelu(Vec a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
inline Vec vmin6(Vec a) { return _mm512_min_ps(a, _mm512_set1_ps(6.f)); }
#else
struct Vec {
  float v[kBlock];
};
inline Vec vload(const float* p) {
  Vec r;
  std::copy(p, p + kBlock, r.v);
  return r;
}
inline Vec vloadu(const float* p) { return vload(p); }
inline void vstore(float* p, const Vec& v) { std::copy(v.v, v.v + kBlock, p); }
inline void vstoreu(float* p, const Vec& v) { vstore(p, v); }
template <typename Op>
inline Vec lanewise(const Vec& a, const Vec& b, Op op) {
  Vec r;
  for (int l = 0; l < kBlock; ++l) r.v[l] = op(a.v[l], b.v[l]);
  return r;
}
inline Vec vadd(const Vec& a, const Vec& b) {
  return lanewise(a, b, [](float x, float y) { return x + y; });
}
inline Vec vsub(const Vec& a, const Vec& b) {
  return lanewise(a, b, [](float x, float y) { return x - y; });
}
inline Vec vfma(const Vec& a, const Vec& b, const Vec& c) {
  Vec r;
  for (int l = 0; l < kBlock; ++l) r.v[l] = a.v[l] * b.v[l] + c.v[l];
  return r;
}
inline Vec vzero() { return Vec{}; }
inline Vec vset(float a) {
  Vec r;
  std::fill(r.v, r.v + kBlock, a);
  return r;
}
inline Vec vrelu(const Vec& a) {
  return lanewise(a, a, [](float x, float) { return std::max(x, 0.f); });
}
inline Vec vmin6(const Vec& a) {
  return lanewise(a, a, [](float x, float) { return std::min(x, 6.f); });
}
#endif

// A conv epilogue's activation, as the direct kernel applies it: max(v, 0), then min(v, 6) for ReLU6.
inline Vec activate(const Vec& v, Activation act) {
  if (act == Activation::None) return v;
  return act == Activation::ReLU6 ? vmin6(vrelu(v)) : vrelu(v);
}
// The same with the activation known at compile time (inner loops).
template <Activation ACT>
inline Vec activate(const Vec& v) {
  if (ACT == Activation::None) return v;
  return ACT == Activation::ReLU6 ? vmin6(vrelu(v)) : vrelu(v);
}

}  // namespace sn::cpu::nchwc
