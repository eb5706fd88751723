#include "engine/cpu/elementwise.h"

#include <algorithm>

#include "engine/parallel.h"

namespace sn {

// ---- reference: one obvious loop per op --------------------------------------
namespace ref {
template <typename T>
void relu_forward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <typename T>
void relu_backward(const T* x, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}
// PyTorch's relu6 is hardtanh(0, 6): its gradient is 0 at x == 0 and x == 6 too.
template <typename T>
void relu6_forward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : (x[i] > T(6) ? T(6) : x[i]);
}
template <typename T>
void relu6_backward(const T* x, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) && x[i] < T(6) ? dy[i] : T(0);
}
template <typename T>
void add_forward(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
template <typename T>
void mul_forward(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
template <typename T>
void scale_forward(const T* x, T s, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}
#define SN_INSTANTIATE(T)                                           \
  template void relu_forward<T>(const T*, T*, int64_t);             \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);  \
  template void relu6_forward<T>(const T*, T*, int64_t);            \
  template void relu6_backward<T>(const T*, const T*, T*, int64_t); \
  template void add_forward<T>(const T*, const T*, T*, int64_t);    \
  template void mul_forward<T>(const T*, const T*, T*, int64_t);    \
  template void scale_forward<T>(const T*, T, T*, int64_t);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

// ---- fast: the same loops, split over threads in cache-sized chunks and
// written so the compiler vectorizes them (no branches in the body). -----------
namespace cpu {
static constexpr int64_t kChunk = 1 << 14;

void relu_forward(const float* x, float* y, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = std::max(x[i], 0.f);
  });
}
void relu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
  });
}
void relu6_forward(const float* x, float* y, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = std::min(std::max(x[i], 0.f), 6.f);
  });
}
void relu6_backward(const float* x, const float* dy, float* dx, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.f && x[i] < 6.f ? dy[i] : 0.f;
  });
}
void add_forward(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = a[i] + b[i];
  });
}
void mul_forward(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = a[i] * b[i];
  });
}
void scale_forward(const float* x, float s, float* y, int64_t n) {
  parallel_for(0, n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = x[i] * s;
  });
}
}  // namespace cpu

}  // namespace sn
