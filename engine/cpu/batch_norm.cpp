#include "engine/cpu/batch_norm.h"

#include <cmath>

#include "engine/parallel.h"

namespace sn {

// ---- reference ---------------------------------------------------------------------
namespace ref {
template <typename T>
void batch_norm_forward(const BatchNormShape& s, const T* x, const T* weight, const T* bias, T* running_mean,
                        T* running_var, bool training, T momentum, T eps, T* y, T* save_mean, T* save_invstd) {
  const int64_t M = s.N * s.HW;
  for (int64_t c = 0; c < s.C; ++c) {
    auto at = [&](int64_t n, int64_t i) { return (n * s.C + c) * s.HW + i; };
    T mean, var;
    if (training) {
      double sum = 0;
      for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.HW; ++i) sum += x[at(n, i)];
      mean = T(sum / M);
      double sq = 0;  // two passes: sum of squared deviations, no cancellation
      for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.HW; ++i) sq += double(x[at(n, i)] - mean) * double(x[at(n, i)] - mean);
      var = T(sq / M);
      const T unbiased = M > 1 ? T(sq / (M - 1)) : var;
      running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
      running_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased;
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    const T invstd = T(1) / std::sqrt(var + eps);
    save_mean[c] = mean;
    save_invstd[c] = invstd;
    const T w = weight ? weight[c] : T(1), b = bias ? bias[c] : T(0);
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < s.HW; ++i) y[at(n, i)] = (x[at(n, i)] - mean) * invstd * w + b;
  }
}

template <typename T>
void batch_norm_backward(const BatchNormShape& s, const T* x, const T* dy, const T* save_mean, const T* save_invstd,
                         const T* weight, bool training, T /*eps: in save_invstd*/, T* dx, T* dweight, T* dbias) {
  const int64_t M = s.N * s.HW;
  for (int64_t c = 0; c < s.C; ++c) {
    auto at = [&](int64_t n, int64_t i) { return (n * s.C + c) * s.HW + i; };
    const T mean = save_mean[c], invstd = save_invstd[c], w = weight ? weight[c] : T(1);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < s.HW; ++i) {
        sum_dy += dy[at(n, i)];
        sum_dy_xhat += double(dy[at(n, i)]) * double((x[at(n, i)] - mean) * invstd);
      }
    if (dbias) dbias[c] = T(sum_dy);
    if (dweight) dweight[c] = T(sum_dy_xhat);
    if (!dx) continue;
    const T mean_dy = T(sum_dy / M), mean_dy_xhat = T(sum_dy_xhat / M);
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < s.HW; ++i) {
        const T xhat = (x[at(n, i)] - mean) * invstd;
        dx[at(n, i)] =
            training ? w * invstd * (dy[at(n, i)] - mean_dy - xhat * mean_dy_xhat) : w * invstd * dy[at(n, i)];
      }
  }
}

#define SN_INSTANTIATE(T)                                                                                              \
  template void batch_norm_forward<T>(const BatchNormShape&, const T*, const T*, const T*, T*, T*, bool, T, T, T*, T*, \
                                      T*);                                                                             \
  template void batch_norm_backward<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, const T*, bool,  \
                                       T, T*, T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

// ---- fast --------------------------------------------------------------------------
namespace cpu {
namespace {
// Sum of one contiguous plane: `omp simd` lets the compiler keep several
// partial sums in one vector (a fixed order for a given build, whatever the thread count).
inline float plane_sum(const float* p, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}
}  // namespace

void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd) {
  const int64_t M = s.N * s.HW;
  // Statistics: one channel per task; per-plane float sums, added in double.
  parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float mean, var;
      if (training) {
        double sum = 0;
        for (int64_t n = 0; n < s.N; ++n) sum += plane_sum(x + (n * s.C + c) * s.HW, s.HW);
        mean = static_cast<float>(sum / M);
        double sq = 0;
        for (int64_t n = 0; n < s.N; ++n) {
          const float* p = x + (n * s.C + c) * s.HW;
          float part = 0;
#pragma omp simd reduction(+ : part)
          for (int64_t i = 0; i < s.HW; ++i) part += (p[i] - mean) * (p[i] - mean);
          sq += part;
        }
        var = static_cast<float>(sq / M);
        const float unbiased = M > 1 ? static_cast<float>(sq / (M - 1)) : var;
        running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
        running_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased;
      } else {
        mean = running_mean[c];
        var = running_var[c];
      }
      save_mean[c] = mean;
      save_invstd[c] = 1.f / std::sqrt(var + eps);
    }
  });
  // Normalization as one multiply-add per value: y = x * scale_c + shift_c.
  parallel_for(0, s.N * s.C, 1, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const int64_t c = nc % s.C;
      const float w = weight ? weight[c] : 1.f, sh = bias ? bias[c] : 0.f;
      const float scale = save_invstd[c] * w, shift = sh - save_mean[c] * scale;
      const float* xp = x + nc * s.HW;
      float* yp = y + nc * s.HW;
#pragma omp simd
      for (int64_t i = 0; i < s.HW; ++i) yp[i] = xp[i] * scale + shift;
    }
  });
}

void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float /*eps: in save_invstd*/,
                         float* dx, float* dweight, float* dbias) {
  const int64_t M = s.N * s.HW;
  parallel_for(0, s.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float mean = save_mean[c], invstd = save_invstd[c], w = weight ? weight[c] : 1.f;
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const float* xp = x + (n * s.C + c) * s.HW;
        const float* gp = dy + (n * s.C + c) * s.HW;
        float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
        for (int64_t i = 0; i < s.HW; ++i) {
          a += gp[i];
          b += gp[i] * (xp[i] - mean);
        }
        sum_dy += a;
        sum_dy_xhat += b;
      }
      sum_dy_xhat *= invstd;
      if (dbias) dbias[c] = static_cast<float>(sum_dy);
      if (dweight) dweight[c] = static_cast<float>(sum_dy_xhat);
      if (!dx) continue;
      // dx = k * (dy - mean_dy - xhat * mean_dy_xhat) with xhat = (x - mean) * invstd, k = w * invstd.
      const float k = w * invstd;
      const float mean_dy = training ? static_cast<float>(sum_dy / M) : 0.f;
      const float proj = training ? static_cast<float>(sum_dy_xhat / M) * invstd : 0.f;
      for (int64_t n = 0; n < s.N; ++n) {
        const float* xp = x + (n * s.C + c) * s.HW;
        const float* gp = dy + (n * s.C + c) * s.HW;
        float* dp = dx + (n * s.C + c) * s.HW;
#pragma omp simd
        for (int64_t i = 0; i < s.HW; ++i) dp[i] = k * (gp[i] - mean_dy - (xp[i] - mean) * proj);
      }
    }
  });
}
}  // namespace cpu

}  // namespace sn
