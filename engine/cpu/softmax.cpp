#include "engine/cpu/softmax.h"

#include <cmath>

#include "engine/cpu/softmax_rows.h"
#include "engine/parallel.h"

namespace sn {

namespace {
// One row of each op; ref:: runs them row after row, cpu:: over threads.
template <typename T>
void log_softmax_row(int64_t K, const T* x, T* y) {
  T m = x[0];
  for (int64_t j = 1; j < K; ++j) m = x[j] > m ? x[j] : m;
  T sum = 0;
  for (int64_t j = 0; j < K; ++j) sum += std::exp(x[j] - m);
  const T lse = m + std::log(sum);
  for (int64_t j = 0; j < K; ++j) y[j] = x[j] - lse;
}
template <typename T>
void log_softmax_backward_row(int64_t K, const T* y, const T* dy, T* dx) {
  T sum = 0;
  for (int64_t j = 0; j < K; ++j) sum += dy[j];
  for (int64_t j = 0; j < K; ++j) dx[j] = dy[j] - std::exp(y[j]) * sum;
}
template <typename T>
void softmax_row(int64_t K, const T* x, T* y) {
  T m = x[0];
  for (int64_t j = 1; j < K; ++j) m = x[j] > m ? x[j] : m;
  T sum = 0;
  for (int64_t j = 0; j < K; ++j) sum += (y[j] = std::exp(x[j] - m));
  for (int64_t j = 0; j < K; ++j) y[j] /= sum;
}
template <typename T>
void softmax_backward_row(int64_t K, const T* y, const T* dy, T* dx) {
  T dot = 0;
  for (int64_t j = 0; j < K; ++j) dot += dy[j] * y[j];
  for (int64_t j = 0; j < K; ++j) dx[j] = y[j] * (dy[j] - dot);
}
template <typename T>
int64_t argmax_row(int64_t K, const T* x) {
  int64_t best = 0;
  for (int64_t j = 1; j < K; ++j)
    if (x[j] > x[best]) best = j;  // strict: ties keep the first
  return best;
}
constexpr int64_t kRows = 64;  // rows per task

// The fast rows differ from the reference ones in one thing: exp (cpu/softmax_rows.h).
using cpu::rows::RowIn;
using cpu::rows::RowOut;
inline void fast_log_softmax_row(int64_t K, const float* x, float* y) {
  const float lse = cpu::rows::logsumexp(K, x);
  RowOut(y, K) = RowIn(x, K) - lse;
}
inline void fast_log_softmax_backward_row(int64_t K, const float* y, const float* dy, float* dx) {
  const float sum = RowIn(dy, K).sum();
  RowOut(dx, K) = RowIn(dy, K) - RowIn(y, K).exp() * sum;
}
inline void fast_softmax_row(int64_t K, const float* x, float* y) {
  const float sum = cpu::rows::exp_shifted(K, x, y);
  RowOut(y, K) /= sum;
}
}  // namespace

namespace ref {
template <typename T>
void log_softmax_forward(int64_t N, int64_t K, const T* x, T* y) {
  for (int64_t i = 0; i < N; ++i) log_softmax_row(K, x + i * K, y + i * K);
}
template <typename T>
void log_softmax_backward(int64_t N, int64_t K, const T* y, const T* dy, T* dx) {
  for (int64_t i = 0; i < N; ++i) log_softmax_backward_row(K, y + i * K, dy + i * K, dx + i * K);
}
template <typename T>
void softmax_forward(int64_t N, int64_t K, const T* x, T* y) {
  for (int64_t i = 0; i < N; ++i) softmax_row(K, x + i * K, y + i * K);
}
template <typename T>
void softmax_backward(int64_t N, int64_t K, const T* y, const T* dy, T* dx) {
  for (int64_t i = 0; i < N; ++i) softmax_backward_row(K, y + i * K, dy + i * K, dx + i * K);
}
template <typename T>
void argmax(int64_t N, int64_t K, const T* x, int64_t* out) {
  for (int64_t i = 0; i < N; ++i) out[i] = argmax_row(K, x + i * K);
}
#define SN_INSTANTIATE(T)                                                          \
  template void log_softmax_forward<T>(int64_t, int64_t, const T*, T*);            \
  template void log_softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*); \
  template void softmax_forward<T>(int64_t, int64_t, const T*, T*);                \
  template void softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*);     \
  template void argmax<T>(int64_t, int64_t, const T*, int64_t*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

namespace cpu {
void log_softmax_forward(int64_t N, int64_t K, const float* x, float* y) {
  parallel_for(0, N, kRows, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fast_log_softmax_row(K, x + i * K, y + i * K);
  });
}
void log_softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx) {
  parallel_for(0, N, kRows, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fast_log_softmax_backward_row(K, y + i * K, dy + i * K, dx + i * K);
  });
}
void softmax_forward(int64_t N, int64_t K, const float* x, float* y) {
  parallel_for(0, N, kRows, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fast_softmax_row(K, x + i * K, y + i * K);
  });
}
void softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx) {
  parallel_for(0, N, kRows, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) softmax_backward_row(K, y + i * K, dy + i * K, dx + i * K);
  });
}
void argmax(int64_t N, int64_t K, const float* x, int64_t* out) {
  parallel_for(0, N, kRows, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = argmax_row(K, x + i * K);
  });
}
}  // namespace cpu

}  // namespace sn
