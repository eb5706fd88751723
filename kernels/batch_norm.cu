// batch_norm.cu — batch norm as per-channel reductions plus one elementwise pass.
//
// Statistics: channel c's M = N*HW values (N planes of HW contiguous floats) are
// split into `splits` contiguous chunks, and a grid of (C, splits) blocks reduces
// them in double: each block writes its partial sum, and the channel's total is
// the sum of its partials in order (no atomics). Deterministic, and as accurate as
// the CPU's double sums, with enough blocks to fill the GPU even when C is small
// (64 channels at the first layer of a ResNet: 16 blocks each). Two passes as on
// the CPU: the mean, then the squared deviations from the float mean; each block
// of the second pass adds up the first pass's partials itself (the same order,
// so the same mean), and a last small kernel per channel finishes.
//
// No 64-bit division per element: a thread walks its elements with a cursor
// (plane, offset) advanced by additions, set up with one division per thread.
// The elementwise passes are y = x*scale[c] + shift[c] and its backward.
#include <algorithm>

#include "kernels/allocator.h"
#include "kernels/batch_norm.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {

constexpr int kStatBlock = 256;
constexpr int64_t kMinPerBlock = 2048;   // values per statistics block, at least (8 per thread)
constexpr int64_t kTargetBlocks = 1024;  // enough to fill any current GPU (132 SMs x 8 blocks)
constexpr int64_t kMaxSplits = 64;
constexpr int kPerThread = 8;  // elementwise passes: at least this many elements per thread (one cursor set-up)

// How many blocks share one channel's M values.
int64_t splits_for(int64_t C, int64_t M) {
  const int64_t by_size = (M + kMinPerBlock - 1) / kMinPerBlock;
  const int64_t by_grid = (kTargetBlocks + C - 1) / C;
  return std::max<int64_t>(1, std::min({by_size, by_grid, kMaxSplits}));
}

// Walks channel c's values j = start, start + step, ... (j < end) of x (N,C,HW),
// where value j is plane n = j / HW, offset hw = j % HW: element (n*C + c)*HW + hw.
// One division when set up; each step is additions only.
struct ChannelCursor {
  int64_t j, end, offset, hw;                    // offset: of value j in x
  int64_t step, step_offset, step_hw, HW, wrap;  // wrap: offset change when hw passes HW

  __device__ ChannelCursor(int64_t c, int64_t C, int64_t HW_, int64_t start, int64_t end_, int64_t step_)
      : j(start), end(end_), step(step_), HW(HW_) {
    const int64_t n = start / HW, planes = step / HW;
    hw = start - n * HW;
    offset = (n * C + c) * HW + hw;
    step_hw = step - planes * HW;
    step_offset = planes * C * HW + step_hw;
    wrap = C * HW - HW;  // from the end of plane n of channel c to the start of plane n + 1 of it
  }
  __device__ bool valid() const { return j < end; }
  __device__ void next() {
    j += step;
    offset += step_offset;
    hw += step_hw;
    if (hw >= HW) {
      hw -= HW;
      offset += wrap;
    }
  }
};

// Chunk `split` of channel c's M values: [begin, end).
__device__ __forceinline__ void chunk(int64_t M, int64_t splits, int64_t split, int64_t& begin, int64_t& end) {
  const int64_t per = (M + splits - 1) / splits;
  begin = min(M, split * per);
  end = min(M, begin + per);
}

// The channel's mean from its partial sums, always in the same order.
__device__ __forceinline__ float mean_of(const double* partial_sum, int64_t c, int64_t splits, int64_t M) {
  double s = 0;
  for (int64_t k = 0; k < splits; ++k) s += partial_sum[c * splits + k];
  return static_cast<float>(s / M);
}

// Pass 1, grid (C, splits): partial_sum[c*splits + split] = sum of the chunk.
__global__ void partial_sum_kernel(const float* __restrict__ x, int64_t C, int64_t HW, int64_t M, int64_t splits,
                                   double* __restrict__ partial_sum) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x, split = blockIdx.y;
  int64_t begin, end;
  chunk(M, splits, split, begin, end);
  double s = 0;
  for (ChannelCursor it(c, C, HW, begin + threadIdx.x, end, blockDim.x); it.valid(); it.next()) s += x[it.offset];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) partial_sum[c * splits + split] = s;
}

// Pass 2, grid (C, splits): partial_sq = sum of squared deviations from the float mean, as the CPU.
__global__ void partial_sq_kernel(const float* __restrict__ x, int64_t C, int64_t HW, int64_t M, int64_t splits,
                                  const double* __restrict__ partial_sum, double* __restrict__ partial_sq) {
  __shared__ double scratch[32];
  __shared__ float mean_shared;
  const int64_t c = blockIdx.x, split = blockIdx.y;
  if (threadIdx.x == 0) mean_shared = mean_of(partial_sum, c, splits, M);
  __syncthreads();
  const float mean = mean_shared;
  int64_t begin, end;
  chunk(M, splits, split, begin, end);
  double sq = 0;
  for (ChannelCursor it(c, C, HW, begin + threadIdx.x, end, blockDim.x); it.valid(); it.next()) {
    const float d = x[it.offset] - mean;
    sq += double(d) * double(d);
  }
  sq = block_sum(sq, scratch);
  if (threadIdx.x == 0) partial_sq[c * splits + split] = sq;
}

// One thread per channel: the statistics, the running averages, save_mean/save_invstd.
__global__ void finish_stats_kernel(int64_t C, int64_t M, int64_t splits, const double* __restrict__ partial_sum,
                                    const double* __restrict__ partial_sq, float* __restrict__ running_mean,
                                    float* __restrict__ running_var, float momentum, float eps,
                                    float* __restrict__ save_mean, float* __restrict__ save_invstd) {
  SN_GRID_STRIDE_LOOP(c, C) {
    const float mean = mean_of(partial_sum, c, splits, M);
    double sq = 0;
    for (int64_t k = 0; k < splits; ++k) sq += partial_sq[c * splits + k];
    const float var = static_cast<float>(sq / M);
    const float unbiased = M > 1 ? static_cast<float>(sq / (M - 1)) : var;
    running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased;
    save_mean[c] = mean;
    save_invstd[c] = 1.f / sqrtf(var + eps);
  }
}

__global__ void eval_stats_kernel(int64_t C, const float* __restrict__ running_mean,
                                  const float* __restrict__ running_var, float eps, float* __restrict__ save_mean,
                                  float* __restrict__ save_invstd) {
  SN_GRID_STRIDE_LOOP(c, C) {
    save_mean[c] = running_mean[c];
    save_invstd[c] = 1.f / sqrtf(running_var[c] + eps);
  }
}

// The channel of element i of (N,C,HW) for a grid-stride loop over all elements,
// kept up to date by additions: c = (i / HW) % C, hw = i % HW.
struct ElementCursor {
  int64_t i, c, hw;
  int64_t step_c, step_hw, C, HW;
  __device__ ElementCursor(int64_t start, int64_t step, int64_t C_, int64_t HW_) : i(start), C(C_), HW(HW_) {
    const int64_t plane = start / HW;
    hw = start - plane * HW;
    c = plane % C;
    const int64_t step_planes = step / HW;
    step_hw = step - step_planes * HW;
    step_c = step_planes % C;
  }
  __device__ void next(int64_t step) {
    i += step;
    hw += step_hw;
    c += step_c;
    if (hw >= HW) {
      hw -= HW;
      ++c;
    }
    if (c >= C) c -= C;  // c < 2C here: at most C - 1 + C - 1 + 1
  }
};

#define SN_ELEMENT_LOOP(it, total, C, HW)                                                                        \
  for (ElementCursor it(blockIdx.x * (int64_t)blockDim.x + threadIdx.x, (int64_t)gridDim.x * blockDim.x, C, HW); \
       it.i < (total); it.next((int64_t)gridDim.x * blockDim.x))

// y = x * scale + shift with scale = invstd * w, shift = b - mean * scale (as the CPU fast path).
__global__ void normalize_kernel(const float* __restrict__ x, int64_t total, int64_t C, int64_t HW,
                                 const float* __restrict__ mean, const float* __restrict__ invstd,
                                 const float* __restrict__ weight, const float* __restrict__ bias,
                                 float* __restrict__ y) {
  SN_ELEMENT_LOOP(it, total, C, HW) {
    const int64_t c = it.c;
    const float scale = invstd[c] * (weight ? weight[c] : 1.f);
    const float shift = (bias ? bias[c] : 0.f) - mean[c] * scale;
    y[it.i] = x[it.i] * scale + shift;
  }
}

// Backward pass 1, grid (C, splits): partial sums of dy and dy * (x - mean).
__global__ void backward_partial_kernel(const float* __restrict__ x, const float* __restrict__ dy, int64_t C,
                                        int64_t HW, int64_t M, int64_t splits, const float* __restrict__ save_mean,
                                        double* __restrict__ partial) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x, split = blockIdx.y;
  const float mean = save_mean[c];
  int64_t begin, end;
  chunk(M, splits, split, begin, end);
  double a = 0, b = 0;
  for (ChannelCursor it(c, C, HW, begin + threadIdx.x, end, blockDim.x); it.valid(); it.next()) {
    const float g = dy[it.offset];
    a += g;
    b += double(g) * double(x[it.offset] - mean);
  }
  a = block_sum(a, scratch);
  b = block_sum(b, scratch);
  if (threadIdx.x == 0) {
    partial[(c * splits + split) * 2] = a;
    partial[(c * splits + split) * 2 + 1] = b;
  }
}

// Backward pass 2, one thread per channel: sum(dy) and sum(dy * xhat); writes
// dbias/dweight and the two means the dx pass needs.
__global__ void backward_finish_kernel(int64_t C, int64_t M, int64_t splits, const double* __restrict__ partial,
                                       const float* __restrict__ save_invstd, float* __restrict__ dweight,
                                       float* __restrict__ dbias, float* __restrict__ mean_dy,
                                       float* __restrict__ mean_dy_xhat) {
  SN_GRID_STRIDE_LOOP(c, C) {
    double a = 0, b = 0;
    for (int64_t k = 0; k < splits; ++k) {
      a += partial[(c * splits + k) * 2];
      b += partial[(c * splits + k) * 2 + 1];
    }
    b *= save_invstd[c];
    if (dbias) dbias[c] = static_cast<float>(a);
    if (dweight) dweight[c] = static_cast<float>(b);
    if (mean_dy) {
      mean_dy[c] = static_cast<float>(a / M);
      mean_dy_xhat[c] = static_cast<float>(b / M);
    }
  }
}

// training: dx = w*invstd * (dy - mean_dy - xhat * mean_dy_xhat); eval: dx = w*invstd * dy.
__global__ void backward_dx_kernel(const float* __restrict__ x, const float* __restrict__ dy, int64_t total, int64_t C,
                                   int64_t HW, const float* __restrict__ save_mean,
                                   const float* __restrict__ save_invstd, const float* __restrict__ weight,
                                   const float* __restrict__ mean_dy, const float* __restrict__ mean_dy_xhat,
                                   float* __restrict__ dx) {
  SN_ELEMENT_LOOP(it, total, C, HW) {
    const int64_t c = it.c, i = it.i;
    const float invstd = save_invstd[c], w = weight ? weight[c] : 1.f;
    if (mean_dy) {
      const float xhat = (x[i] - save_mean[c]) * invstd;
      dx[i] = w * invstd * (dy[i] - mean_dy[c] - xhat * mean_dy_xhat[c]);
    } else {
      dx[i] = w * invstd * dy[i];
    }
  }
}

void check_sizes(const char* what, int64_t N, int64_t C, int64_t HW) {
  SN_CHECK(N >= 1 && C >= 1 && HW >= 1, what, ": bad shape N=", N, " C=", C, " HW=", HW);
  SN_CHECK(C <= 0x7fffffff, what, ": ", C, " channels exceed the grid");
}

}  // namespace

void batch_norm_eval_stats(int64_t C, const float* running_mean, const float* running_var, float eps, float* save_mean,
                           float* save_invstd) {
  eval_stats_kernel<<<blocks_for(C), kBlock, 0, current_stream()>>>(C, running_mean, running_var, eps, save_mean,
                                                                    save_invstd);
  SN_CUDA_CHECK_LAUNCH();
}

void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd) {
  const int64_t N = s.N, C = s.C, HW = s.HW;
  check_sizes("batch_norm (CUDA)", N, C, HW);
  const int64_t M = N * HW, total = M * C;
  SN_CHECK(!training || M > 1, "batch_norm (CUDA): training needs more than one value per channel");
  if (training) {
    const int64_t splits = splits_for(C, M);
    DeviceBuffer partial(2 * static_cast<size_t>(C * splits) * sizeof(double));
    double* partial_sum = partial.as<double>();
    double* partial_sq = partial_sum + C * splits;
    const dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(splits));
    partial_sum_kernel<<<grid, kStatBlock, 0, current_stream()>>>(x, C, HW, M, splits, partial_sum);
    SN_CUDA_CHECK_LAUNCH();
    partial_sq_kernel<<<grid, kStatBlock, 0, current_stream()>>>(x, C, HW, M, splits, partial_sum, partial_sq);
    SN_CUDA_CHECK_LAUNCH();
    finish_stats_kernel<<<blocks_for(C), kBlock, 0, current_stream()>>>(
        C, M, splits, partial_sum, partial_sq, running_mean, running_var, momentum, eps, save_mean, save_invstd);
    SN_CUDA_CHECK_LAUNCH();
  } else {
    batch_norm_eval_stats(C, running_mean, running_var, eps, save_mean, save_invstd);
  }
  normalize_kernel<<<blocks_for(total, kBlock * kPerThread), kBlock, 0, current_stream()>>>(
      x, total, C, HW, save_mean, save_invstd, weight, bias, y);
  SN_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float /*eps: in save_invstd*/,
                         float* dx, float* dweight, float* dbias) {
  const int64_t N = s.N, C = s.C, HW = s.HW;
  check_sizes("batch_norm backward (CUDA)", N, C, HW);
  const int64_t M = N * HW, total = M * C;
  const bool need_means = dx && training;
  DeviceBuffer means(need_means ? 2 * static_cast<size_t>(C) * sizeof(float) : 0);
  float* mean_dy = need_means ? means.as<float>() : nullptr;
  float* mean_dy_xhat = need_means ? means.as<float>() + C : nullptr;
  if (dweight || dbias || need_means) {
    const int64_t splits = splits_for(C, M);
    DeviceBuffer partial(2 * static_cast<size_t>(C * splits) * sizeof(double));
    const dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(splits));
    backward_partial_kernel<<<grid, kStatBlock, 0, current_stream()>>>(x, dy, C, HW, M, splits, save_mean,
                                                                       partial.as<double>());
    SN_CUDA_CHECK_LAUNCH();
    backward_finish_kernel<<<blocks_for(C), kBlock, 0, current_stream()>>>(
        C, M, splits, partial.as<double>(), save_invstd, dweight, dbias, mean_dy, mean_dy_xhat);
    SN_CUDA_CHECK_LAUNCH();
  }
  if (dx) {
    backward_dx_kernel<<<blocks_for(total, kBlock * kPerThread), kBlock, 0, current_stream()>>>(
        x, dy, total, C, HW, save_mean, save_invstd, weight, mean_dy, mean_dy_xhat, dx);
    SN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace sn::cuda
