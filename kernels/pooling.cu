// pooling.cu — max pool (forward, gather backward) and 1x1 average pool.
#include "kernels/launch.cuh"
#include "kernels/pooling.cuh"

namespace sn::cuda {

namespace {

struct PoolDims {  // Pool2dShape as plain int64s for the kernels
  int64_t N, C, H, W, kernel, stride, pad, P, Q;
};

// Index h*W + w of the first maximum of window (p, q) in `plane`, clipped to
// the image; NaN wins at once. The same rule as engine/cpu/pooling.cpp.
__device__ __forceinline__ int64_t window_argmax(const PoolDims& s, const float* plane, int64_t p, int64_t q) {
  const int64_t hs = p * s.stride - s.pad, ws = q * s.stride - s.pad;
  const int64_t h0 = max(hs, int64_t(0)), h1 = min(hs + s.kernel, s.H);
  const int64_t w0 = max(ws, int64_t(0)), w1 = min(ws + s.kernel, s.W);
  int64_t best = h0 * s.W + w0;
  float best_v = plane[best];
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const float v = plane[h * s.W + w];
      if (v > best_v || v != v) {
        best = h * s.W + w;
        best_v = v;
      }
      if (v != v) return best;
    }
  return best;
}

__global__ void max_pool_forward_kernel(PoolDims s, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  SN_GRID_STRIDE_LOOP(i, total) {
    const int64_t q = i % s.Q, p = (i / s.Q) % s.P, nc = i / (s.Q * s.P);
    const float* plane = x + nc * s.H * s.W;
    y[i] = plane[window_argmax(s, plane, p, q)];
  }
}

// One thread per input element: sum dy over the windows that contain it and
// whose maximum it is. Window p covers rows [p*stride - pad, p*stride - pad + kernel).
__global__ void max_pool_backward_kernel(PoolDims s, const float* __restrict__ x, const float* __restrict__ dy,
                                         float* __restrict__ dx) {
  const int64_t total = s.N * s.C * s.H * s.W;
  SN_GRID_STRIDE_LOOP(i, total) {
    const int64_t w = i % s.W, h = (i / s.W) % s.H, nc = i / (s.W * s.H);
    const float* plane = x + nc * s.H * s.W;
    const float* g = dy + nc * s.P * s.Q;
    // p with p*stride - pad <= h < p*stride - pad + kernel, clipped to [0, P).
    const int64_t ph = h + s.pad, pw = w + s.pad;
    const int64_t p0 = ph - s.kernel + 1 > 0 ? (ph - s.kernel + 1 + s.stride - 1) / s.stride : 0;
    const int64_t q0 = pw - s.kernel + 1 > 0 ? (pw - s.kernel + 1 + s.stride - 1) / s.stride : 0;
    const int64_t p1 = min(ph / s.stride, s.P - 1), q1 = min(pw / s.stride, s.Q - 1);
    const int64_t me = h * s.W + w;
    float sum = 0.f;
    for (int64_t p = p0; p <= p1; ++p)
      for (int64_t q = q0; q <= q1; ++q)
        if (window_argmax(s, plane, p, q) == me) sum += g[p * s.Q + q];
    dx[i] = sum;
  }
}

// One warp per plane: lanes stride over the plane, then a warp sum.
__global__ void avg_pool_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t planes,
                                        int64_t hw) {
  const int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= planes) return;  // whole warps leave together: the shuffle below sees all 32 lanes
  float s = 0.f;
  for (int64_t j = lane; j < hw; j += 32) s += x[warp * hw + j];
  s = warp_sum(s);
  if (lane == 0) y[warp] = s / static_cast<float>(hw);
}

__global__ void avg_pool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, int64_t planes,
                                         int64_t hw) {
  SN_GRID_STRIDE_LOOP(i, planes * hw) dx[i] = dy[i / hw] / static_cast<float>(hw);
}

PoolDims dims(const Pool2dShape& s) {
  SN_CHECK(s.N >= 0 && s.C >= 0 && s.H >= 1 && s.W >= 1 && s.kernel >= 1 && s.stride >= 1 && s.pad >= 0 &&
               2 * s.pad <= s.kernel && s.P >= 0 && s.Q >= 0,
           "max_pool2d (CUDA): bad shape N=", s.N, " C=", s.C, " H=", s.H, " W=", s.W, " kernel=", s.kernel,
           " stride=", s.stride, " pad=", s.pad);
  SN_CHECK(s.P == (s.H + 2 * s.pad - s.kernel) / s.stride + 1 && s.Q == (s.W + 2 * s.pad - s.kernel) / s.stride + 1,
           "max_pool2d (CUDA): output size ", s.P, "x", s.Q, " does not match the input and window");
  return {s.N, s.C, s.H, s.W, s.kernel, s.stride, s.pad, s.P, s.Q};
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y) {
  const PoolDims s = dims(shape);
  const int64_t total = s.N * s.C * s.P * s.Q;
  if (total == 0) return;
  max_pool_forward_kernel<<<blocks_for(total), kBlock, 0, current_stream()>>>(s, x, y);
  SN_CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* dy, float* dx) {
  const PoolDims s = dims(shape);
  const int64_t total = s.N * s.C * s.H * s.W;
  if (total == 0) return;
  max_pool_backward_kernel<<<blocks_for(total), kBlock, 0, current_stream()>>>(s, x, dy, dx);
  SN_CUDA_CHECK_LAUNCH();
}

void avg_pool_1x1_forward(int64_t planes, int64_t hw, const float* x, float* y) {
  SN_CHECK(planes >= 0 && hw >= 1, "adaptive_avg_pool2d (CUDA): bad sizes planes=", planes, " hw=", hw);
  if (planes == 0) return;
  const int64_t threads = planes * 32;
  const int64_t blocks = (threads + kBlock - 1) / kBlock;
  SN_CHECK(blocks <= 0x7fffffff, "adaptive_avg_pool2d (CUDA): ", planes, " planes exceed the grid");
  avg_pool_forward_kernel<<<static_cast<unsigned>(blocks), kBlock, 0, current_stream()>>>(x, y, planes, hw);
  SN_CUDA_CHECK_LAUNCH();
}

void avg_pool_1x1_backward(int64_t planes, int64_t hw, const float* dy, float* dx) {
  SN_CHECK(planes >= 0 && hw >= 1, "adaptive_avg_pool2d backward (CUDA): bad sizes planes=", planes, " hw=", hw);
  if (planes == 0) return;
  avg_pool_backward_kernel<<<blocks_for(planes * hw), kBlock, 0, current_stream()>>>(dy, dx, planes, hw);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
