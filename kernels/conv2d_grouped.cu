// conv2d_grouped.cu — grouped and depthwise convolution kernels (see conv2d_grouped.cuh).
#include <cstdint>

#include "engine/check.h"
#include "kernels/conv2d_grouped.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {

// Output q is the fastest index of a thread, so a warp reads neighbouring input columns.
__global__ void grouped_forward_kernel(Conv2dShape s, const float* __restrict__ x, const float* __restrict__ w,
                                       const float* __restrict__ bias, float* __restrict__ y) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  SN_GRID_STRIDE_LOOP(i, s.N * s.K * s.P * s.Q) {
    const int64_t q = i % s.Q, p = (i / s.Q) % s.P, k = (i / (s.P * s.Q)) % s.K, n = i / (s.K * s.P * s.Q);
    const int64_t c0 = (k / Kg) * Cg;
    float acc = bias ? bias[k] : 0.f;
    for (int64_t j = 0; j < Cg; ++j) {
      const float* xc = x + (n * s.C + c0 + j) * s.H * s.W;
      const float* wk = w + (k * Cg + j) * s.R * s.S;
      for (int64_t r = 0; r < s.R; ++r) {
        const int64_t h = p * s.stride - s.pad + r;
        if (h < 0 || h >= s.H) continue;
        for (int64_t t = 0; t < s.S; ++t) {
          const int64_t v = q * s.stride - s.pad + t;
          if (v >= 0 && v < s.W) acc += xc[h * s.W + v] * wk[r * s.S + t];
        }
      }
    }
    y[i] = acc;
  }
}

// x[n,c,h,v] was read by output (p,q) through tap (r,t) when h = p*stride - pad + r, i.e.
// r = h + pad - p*stride in [0, R): the few p (and q) with that in range, for each output
// channel k of c's group.
__global__ void grouped_backward_input_kernel(Conv2dShape s, const float* __restrict__ dy, const float* __restrict__ w,
                                              float* __restrict__ dx) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  SN_GRID_STRIDE_LOOP(i, s.N * s.C * s.H * s.W) {
    const int64_t v = i % s.W, h = (i / s.W) % s.H, c = (i / (s.H * s.W)) % s.C, n = i / (s.C * s.H * s.W);
    const int64_t g = c / Cg, j = c % Cg;
    // p with 0 <= h + pad - p*stride < R: p in [ceil((h + pad - R + 1) / stride), floor((h + pad) / stride)].
    const int64_t hp = h + s.pad, vp = v + s.pad;
    const int64_t p0 = hp - s.R + 1 > 0 ? (hp - s.R + 1 + s.stride - 1) / s.stride : 0;
    const int64_t p1 = hp / s.stride < s.P - 1 ? hp / s.stride : s.P - 1;
    const int64_t q0 = vp - s.S + 1 > 0 ? (vp - s.S + 1 + s.stride - 1) / s.stride : 0;
    const int64_t q1 = vp / s.stride < s.Q - 1 ? vp / s.stride : s.Q - 1;
    float acc = 0.f;
    for (int64_t kk = 0; kk < Kg; ++kk) {
      const int64_t k = g * Kg + kk;
      const float* dyk = dy + (n * s.K + k) * s.P * s.Q;
      const float* wk = w + (k * Cg + j) * s.R * s.S;
      for (int64_t p = p0; p <= p1; ++p)
        for (int64_t q = q0; q <= q1; ++q)
          acc += dyk[p * s.Q + q] * wk[(hp - p * s.stride) * s.S + (vp - q * s.stride)];
    }
    dx[i] = acc;
  }
}

// One block per weight element (k, j, r, t): its threads stride over the N*P*Q outputs of
// channel k in a fixed pattern, then a fixed-order block sum.
__global__ void grouped_backward_weight_kernel(Conv2dShape s, const float* __restrict__ x, const float* __restrict__ dy,
                                               float* __restrict__ dw) {
  __shared__ float scratch[32];
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups, RS = s.R * s.S;
  const int64_t e = blockIdx.x;  // (k, j, r, t)
  const int64_t t = e % s.S, r = (e / s.S) % s.R, j = (e / RS) % Cg, k = e / (Cg * RS);
  const int64_t c = (k / Kg) * Cg + j, PQ = s.P * s.Q;
  float acc = 0.f;
  for (int64_t i = threadIdx.x; i < s.N * PQ; i += blockDim.x) {
    const int64_t n = i / PQ, p = (i % PQ) / s.Q, q = i % s.Q;
    const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
    if (h >= 0 && h < s.H && v >= 0 && v < s.W)
      acc += dy[(n * s.K + k) * PQ + i % PQ] * x[((n * s.C + c) * s.H + h) * s.W + v];
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) dw[e] = acc;
}

void check_groups(const Conv2dShape& s, const char* what) {
  SN_CHECK(s.groups >= 1 && s.C % s.groups == 0 && s.K % s.groups == 0, what, ": ", s.C, " input and ", s.K,
           " output channels do not split into ", s.groups, " groups");
}

}  // namespace

void conv2d_grouped_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  check_groups(s, "conv2d grouped (CUDA)");
  const int64_t n = s.N * s.K * s.P * s.Q;
  if (n == 0) return;
  grouped_forward_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(s, x, w, bias, y);
  SN_CUDA_CHECK_LAUNCH();
}

void conv2d_grouped_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_groups(s, "conv2d grouped backward input (CUDA)");
  const int64_t n = s.N * s.C * s.H * s.W;
  if (n == 0) return;
  grouped_backward_input_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(s, dy, w, dx);
  SN_CUDA_CHECK_LAUNCH();
}

void conv2d_grouped_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  check_groups(s, "conv2d grouped backward weight (CUDA)");
  const int64_t elements = s.K * (s.C / s.groups) * s.R * s.S;
  if (elements == 0) return;
  SN_CHECK(elements <= 0x7fffffff, "conv2d grouped backward weight (CUDA): ", elements, " weights exceed the grid");
  grouped_backward_weight_kernel<<<static_cast<unsigned>(elements), kBlock, 0, current_stream()>>>(s, x, dy, dw);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
