// cpu/conv2d_reference.cpp — the convolution's definition (ref::, engine/cpu/conv2d.h),
// one multiply-add at a time, in float and double: the yardstick of every conv test.
// Grouped too (s.groups = G: w (K, C/G, R, S), output channel k reads the Cg = C/G input
// channels of its group, from c0 = (k / (K/G)) * Cg); G = 1 is the dense convolution, with
// the same loops in the same order.
#include <algorithm>
#include <cstdint>

#include "engine/cpu/conv2d.h"

namespace sn::ref {

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          T acc = bias ? bias[k] : T(0);
          const int64_t c0 = (k / Kg) * Cg;  // first input channel of k's group
          for (int64_t c = c0; c < c0 + Cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;  // zero padding
                acc += x[((n * s.C + c) * s.H + h) * s.W + v] * w[((k * Cg + c - c0) * s.R + r) * s.S + t];
              }
          y[((n * s.K + k) * s.P + p) * s.Q + q] = acc;
        }
}

// dx[n,c,h,v] = sum over every (k,p,q,r,t) where x[n,c,h,v] was read, of dy * w.
template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  std::fill_n(dx, s.N * s.C * s.H * s.W, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const T g = dy[((n * s.K + k) * s.P + p) * s.Q + q];
          const int64_t c0 = (k / Kg) * Cg;  // first input channel of k's group
          for (int64_t c = c0; c < c0 + Cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                dx[((n * s.C + c) * s.H + h) * s.W + v] += g * w[((k * Cg + c - c0) * s.R + r) * s.S + t];
              }
        }
}

// dw[k,c,r,t] = sum over (n,p,q) of dy[n,k,p,q] * the x value it multiplied.
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  std::fill_n(dw, s.K * Cg * s.R * s.S, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const T g = dy[((n * s.K + k) * s.P + p) * s.Q + q];
          const int64_t c0 = (k / Kg) * Cg;  // first input channel of k's group
          for (int64_t c = c0; c < c0 + Cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                dw[((k * Cg + c - c0) * s.R + r) * s.S + t] += g * x[((n * s.C + c) * s.H + h) * s.W + v];
              }
        }
}

template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db) {
  for (int64_t k = 0; k < s.K; ++k) {
    T acc = 0;
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < s.P * s.Q; ++i) acc += dy[(n * s.K + k) * s.P * s.Q + i];
    db[k] = acc;
  }
}

#define SN_INSTANTIATE(T)                                                                \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);   \
  template void conv2d_backward_bias<T>(const Conv2dShape&, const T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE

}  // namespace sn::ref
