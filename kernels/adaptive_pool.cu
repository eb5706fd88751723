// adaptive_pool.cu — adaptive average pooling, forward and backward (see adaptive_pool.cuh).
#include <cstdint>

#include "engine/check.h"
#include "kernels/adaptive_pool.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {
// Output index i's bin over `in` inputs: [begin, end), as engine/cpu/adaptive_pool.h.
__device__ __forceinline__ int64_t bin_begin(int64_t i, int64_t in, int64_t out) { return i * in / out; }
__device__ __forceinline__ int64_t bin_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

__global__ void adaptive_avg_forward_kernel(AdaptivePool2dShape s, const float* x, float* y) {
  SN_GRID_STRIDE_LOOP(i, s.N * s.C * s.P * s.Q) {
    const int64_t q = i % s.Q, p = (i / s.Q) % s.P, plane = i / (s.P * s.Q);
    const int64_t h0 = bin_begin(p, s.H, s.P), h1 = bin_end(p, s.H, s.P);
    const int64_t v0 = bin_begin(q, s.W, s.Q), v1 = bin_end(q, s.W, s.Q);
    const float* xp = x + plane * s.H * s.W;
    float sum = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t v = v0; v < v1; ++v) sum += xp[h * s.W + v];
    y[i] = sum / static_cast<float>((h1 - h0) * (v1 - v0));
  }
}

__global__ void adaptive_avg_backward_kernel(AdaptivePool2dShape s, const float* dy, float* dx) {
  SN_GRID_STRIDE_LOOP(i, s.N * s.C * s.H * s.W) {
    const int64_t v = i % s.W, h = (i / s.W) % s.H, plane = i / (s.H * s.W);
    const int64_t p0 = h * s.P / s.H, p1 = ((h + 1) * s.P + s.H - 1) / s.H;
    const int64_t q0 = v * s.Q / s.W, q1 = ((v + 1) * s.Q + s.W - 1) / s.W;
    const float* gp = dy + plane * s.P * s.Q;
    float acc = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t rows = bin_end(p, s.H, s.P) - bin_begin(p, s.H, s.P);
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t cols = bin_end(q, s.W, s.Q) - bin_begin(q, s.W, s.Q);
        acc += gp[p * s.Q + q] / static_cast<float>(rows * cols);
      }
    }
    dx[i] = acc;
  }
}
}  // namespace

void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const float* x, float* y) {
  const int64_t n = s.N * s.C * s.P * s.Q;
  SN_CHECK(n >= 0 && s.H >= 1 && s.W >= 1, "adaptive_avg_pool2d (CUDA): bad sizes");
  if (n == 0) return;
  adaptive_avg_forward_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(s, x, y);
  SN_CUDA_CHECK_LAUNCH();
}

void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const float* dy, float* dx) {
  const int64_t n = s.N * s.C * s.H * s.W;
  SN_CHECK(n >= 0 && s.P >= 1 && s.Q >= 1, "adaptive_avg_pool2d backward (CUDA): bad sizes");
  if (n == 0) return;
  adaptive_avg_backward_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(s, dy, dx);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
