// elementwise.cu — relu, relu6, add, mul, scale: one element per thread, grid-stride loops.
//
// These are memory-bound: the work is one load per input and one store per
// output. When every pointer is 16-byte aligned (always, except for views
// that start mid-block) each thread moves float4s, four elements per
// instruction; the last n % 4 elements, or unaligned data, go one by one.
#include <cstdint>

#include "kernels/elementwise.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {

// x < 0 ? 0 : x, as the CPU (std::max(x, 0.f)) and PyTorch: NaN stays NaN (fmaxf would
// return 0 for it) and -0 stays -0.
struct Relu {
  __device__ float operator()(float x, float) const { return x < 0.f ? 0.f : x; }
};
struct ReluBackward {  // (x, dy) -> dy where x > 0, else 0 (NaN x: 0), as the CPU
  __device__ float operator()(float x, float dy) const { return x > 0.f ? dy : 0.f; }
};
// Written as the CPU's std::min(std::max(x, 0.f), 6.f): NaN stays NaN.
struct Relu6 {
  __device__ float operator()(float x, float) const { return x < 0.f ? 0.f : (6.f < x ? 6.f : x); }
};
struct Relu6Backward {  // PyTorch's hardtanh backward: no gradient at x == 0 or x == 6 (nor NaN)
  __device__ float operator()(float x, float dy) const { return x > 0.f && x < 6.f ? dy : 0.f; }
};
struct Mul {
  __device__ float operator()(float a, float b) const { return a * b; }
};
struct Add {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct Scale {
  float s;
  __device__ float operator()(float x, float) const { return x * s; }
};

// y[i] = op(a[i], b[i]); b may be null (unary ops ignore their second argument).
template <typename Op>
__global__ void map_kernel(const float* a, const float* b, float* y, int64_t n, bool vec, Op op) {
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    const float4* a4 = reinterpret_cast<const float4*>(a);
    const float4* b4 = reinterpret_cast<const float4*>(b);
    float4* y4 = reinterpret_cast<float4*>(y);
    SN_GRID_STRIDE_LOOP(i, n4) {
      const float4 u = a4[i];
      const float4 v = b ? b4[i] : make_float4(0.f, 0.f, 0.f, 0.f);
      y4[i] = make_float4(op(u.x, v.x), op(u.y, v.y), op(u.z, v.z), op(u.w, v.w));
    }
    done = n4 * 4;
  }
  SN_GRID_STRIDE_LOOP(j, n - done) {
    const int64_t i = done + j;
    y[i] = op(a[i], b ? b[i] : 0.f);
  }
}

__global__ void fill_kernel(float* y, float value, int64_t n) { SN_GRID_STRIDE_LOOP(i, n) y[i] = value; }

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <typename Op>
void launch_map(const float* a, const float* b, float* y, int64_t n, Op op) {
  SN_CHECK(n >= 0, "elementwise: negative size ", n);
  if (n == 0) return;
  const bool vec = aligned16(a) && (b == nullptr || aligned16(b)) && aligned16(y);
  map_kernel<<<blocks_for(vec ? n / 4 + 1 : n), kBlock, 0, current_stream()>>>(a, b, y, n, vec, op);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void relu_forward(const float* x, float* y, int64_t n) { launch_map(x, nullptr, y, n, Relu{}); }
void relu_backward(const float* x, const float* dy, float* dx, int64_t n) { launch_map(x, dy, dx, n, ReluBackward{}); }
void relu6_forward(const float* x, float* y, int64_t n) { launch_map(x, nullptr, y, n, Relu6{}); }
void relu6_backward(const float* x, const float* dy, float* dx, int64_t n) {
  launch_map(x, dy, dx, n, Relu6Backward{});
}
void add_forward(const float* a, const float* b, float* y, int64_t n) { launch_map(a, b, y, n, Add{}); }
void mul_forward(const float* a, const float* b, float* y, int64_t n) { launch_map(a, b, y, n, Mul{}); }
void scale_forward(const float* x, float s, float* y, int64_t n) { launch_map(x, nullptr, y, n, Scale{s}); }
void fill(float* y, float value, int64_t n) {
  SN_CHECK(n >= 0, "fill: negative size ", n);
  if (n == 0) return;
  fill_kernel<<<blocks_for(n), kBlock, 0, current_stream()>>>(y, value, n);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
