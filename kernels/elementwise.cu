// elementwise.cu — one thread per element, grid-stride loop so any n fits.
#include "kernels/cuda_check.h"
#include "kernels/elementwise.cuh"

namespace sn::cuda {

namespace {
constexpr int kBlock = 256;
int blocks_for(int64_t n) { return static_cast<int>(std::min<int64_t>((n + kBlock - 1) / kBlock, 65535 * 8)); }

__global__ void relu_forward_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = fmaxf(x[i], 0.f);
}
__global__ void relu_backward_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dx[i] = x[i] > 0.f ? dy[i] : 0.f;
}
__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = a[i] + b[i];
}
__global__ void scale_kernel(const float* x, float s, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = x[i] * s;
}
}  // namespace

void relu_forward(const float* x, float* y, int64_t n) {
  if (n == 0) return;
  relu_forward_kernel<<<blocks_for(n), kBlock>>>(x, y, n);
  SN_CUDA_CHECK_LAUNCH();
}
void relu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  if (n == 0) return;
  relu_backward_kernel<<<blocks_for(n), kBlock>>>(x, dy, dx, n);
  SN_CUDA_CHECK_LAUNCH();
}
void add_forward(const float* a, const float* b, float* y, int64_t n) {
  if (n == 0) return;
  add_kernel<<<blocks_for(n), kBlock>>>(a, b, y, n);
  SN_CUDA_CHECK_LAUNCH();
}
void scale_forward(const float* x, float s, float* y, int64_t n) {
  if (n == 0) return;
  scale_kernel<<<blocks_for(n), kBlock>>>(x, s, y, n);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
