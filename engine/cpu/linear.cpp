#include "engine/cpu/linear.h"

#include "engine/cpu/gemm/gemm.h"
#include "engine/parallel.h"

namespace sn {

namespace ref {
template <typename T>
void linear_forward(int64_t N, int64_t in, int64_t out, const T* x, const T* w, const T* bias, T* y) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      T acc = bias ? bias[o] : T(0);
      for (int64_t i = 0; i < in; ++i) acc += x[n * in + i] * w[o * in + i];
      y[n * out + o] = acc;
    }
}
template <typename T>
void linear_backward_input(int64_t N, int64_t in, int64_t out, const T* dy, const T* w, T* dx) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < in; ++i) {
      T acc = 0;
      for (int64_t o = 0; o < out; ++o) acc += dy[n * out + o] * w[o * in + i];
      dx[n * in + i] = acc;
    }
}
template <typename T>
void linear_backward_weight(int64_t N, int64_t in, int64_t out, const T* x, const T* dy, T* dw) {
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      T acc = 0;
      for (int64_t n = 0; n < N; ++n) acc += dy[n * out + o] * x[n * in + i];
      dw[o * in + i] = acc;
    }
}
template <typename T>
void linear_backward_bias(int64_t N, int64_t out, const T* dy, T* db) {
  for (int64_t o = 0; o < out; ++o) {
    T acc = 0;
    for (int64_t n = 0; n < N; ++n) acc += dy[n * out + o];
    db[o] = acc;
  }
}
#define SN_INSTANTIATE(T)                                                                       \
  template void linear_forward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*); \
  template void linear_backward_input<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);    \
  template void linear_backward_weight<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);   \
  template void linear_backward_bias<T>(int64_t, int64_t, const T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

namespace cpu {
namespace {
// y = x w^T + bias for a few rows of x: each row of w is read once, in order,
// and dotted with every row of x. The GEMM would first pack w^T (at batch 1
// that copy of ResNet-50's 8 MB fc weights took longer than the product).
// Each dot product sums 16 lanes (vectorized without reassociation) and then
// the lanes, in a fixed order: results do not depend on the thread count.
constexpr int64_t kFewRows = 4;
void linear_forward_few_rows(int64_t N, int64_t in, int64_t out, const float* x, const float* w, const float* bias,
                             float* y) {
  parallel_for(0, out, 32, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* wo = w + o * in;
      for (int64_t n = 0; n < N; ++n) {
        const float* xn = x + n * in;
        float lanes[16] = {};
        int64_t i = 0;
        for (; i + 16 <= in; i += 16)
          for (int l = 0; l < 16; ++l) lanes[l] += xn[i + l] * wo[i + l];
        float acc = bias ? bias[o] : 0.f;
        for (int l = 0; l < 16; ++l) acc += lanes[l];
        for (; i < in; ++i) acc += xn[i] * wo[i];
        y[n * out + o] = acc;
      }
    }
  });
}
}  // namespace

void linear_forward(int64_t N, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y) {
  if (N <= kFewRows) return linear_forward_few_rows(N, in, out, x, w, bias, y);
  sgemm(false, true, N, out, in, x, in, w, in, 0.f, y, out);  // y = x w^T
  if (bias)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < out; ++o) y[n * out + o] += bias[o];
}
void linear_backward_input(int64_t N, int64_t in, int64_t out, const float* dy, const float* w, float* dx) {
  sgemm(false, false, N, in, out, dy, out, w, in, 0.f, dx, in);  // dx = dy w
}
void linear_backward_weight(int64_t N, int64_t in, int64_t out, const float* x, const float* dy, float* dw) {
  sgemm(true, false, out, in, N, dy, out, x, in, 0.f, dw, in);  // dw = dy^T x
}
void linear_backward_bias(int64_t N, int64_t out, const float* dy, float* db) {
  for (int64_t o = 0; o < out; ++o) {
    double acc = 0;
    for (int64_t n = 0; n < N; ++n) acc += dy[n * out + o];
    db[o] = static_cast<float>(acc);
  }
}
}  // namespace cpu

}  // namespace sn
