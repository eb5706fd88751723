// batch_norm.cu — batch norm as per-channel reductions plus one elementwise pass.
//
// Statistics: one block per channel walks the channel's N*HW values (the N
// planes of HW contiguous floats) and reduces in double, in a fixed order:
// deterministic, and as accurate as the CPU's double sums. The elementwise
// passes are y = x*scale[c] + shift[c] and its backward.
#include "kernels/allocator.h"
#include "kernels/batch_norm.cuh"
#include "kernels/launch.cuh"

namespace sn::cuda {

namespace {

constexpr int kStatBlock = 512;

// Element j of channel c in (N,C,HW): plane j / HW, offset j % HW.
__device__ __forceinline__ int64_t at(int64_t c, int64_t j, int64_t C, int64_t HW) {
  const int64_t n = j / HW;
  return (n * C + c) * HW + (j - n * HW);
}

__global__ void stats_kernel(const float* __restrict__ x, int64_t C, int64_t HW, int64_t M,
                             float* __restrict__ running_mean, float* __restrict__ running_var, float momentum,
                             float eps, float* __restrict__ save_mean, float* __restrict__ save_invstd) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x;
  double s = 0;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += x[at(c, j, C, HW)];
  const float mean = static_cast<float>(block_sum(s, scratch) / M);
  double sq = 0;  // second pass: squared deviations from the float mean, as the CPU
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const float d = x[at(c, j, C, HW)] - mean;
    sq += double(d) * double(d);
  }
  sq = block_sum(sq, scratch);
  if (threadIdx.x == 0) {
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

// y = x * scale + shift with scale = invstd * w, shift = b - mean * scale (as the CPU fast path).
__global__ void normalize_kernel(const float* __restrict__ x, int64_t total, int64_t C, int64_t HW,
                                 const float* __restrict__ mean, const float* __restrict__ invstd,
                                 const float* __restrict__ weight, const float* __restrict__ bias,
                                 float* __restrict__ y) {
  SN_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / HW) % C;
    const float scale = invstd[c] * (weight ? weight[c] : 1.f);
    const float shift = (bias ? bias[c] : 0.f) - mean[c] * scale;
    y[i] = x[i] * scale + shift;
  }
}

// Per channel: sum(dy) and sum(dy * xhat); writes dbias/dweight and the two
// means the dx pass needs.
__global__ void backward_sums_kernel(const float* __restrict__ x, const float* __restrict__ dy, int64_t C,
                                     int64_t HW, int64_t M, const float* __restrict__ save_mean,
                                     const float* __restrict__ save_invstd, float* __restrict__ dweight,
                                     float* __restrict__ dbias, float* __restrict__ mean_dy,
                                     float* __restrict__ mean_dy_xhat) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x;
  const float mean = save_mean[c];
  double a = 0, b = 0;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t k = at(c, j, C, HW);
    a += dy[k];
    b += double(dy[k]) * double(x[k] - mean);
  }
  a = block_sum(a, scratch);
  b = block_sum(b, scratch) * save_invstd[c];
  if (threadIdx.x == 0) {
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
  SN_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / HW) % C;
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

void batch_norm_eval_stats(int64_t C, const float* running_mean, const float* running_var, float eps,
                           float* save_mean, float* save_invstd) {
  eval_stats_kernel<<<blocks_for(C), kBlock, 0, current_stream()>>>(C, running_mean, running_var, eps, save_mean,
                                                                    save_invstd);
  SN_CUDA_CHECK_LAUNCH();
}

void batch_norm_forward(int64_t N, int64_t C, int64_t HW, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd) {
  check_sizes("batch_norm (CUDA)", N, C, HW);
  const int64_t M = N * HW, total = M * C;
  SN_CHECK(!training || M > 1, "batch_norm (CUDA): training needs more than one value per channel");
  if (training) {
    stats_kernel<<<static_cast<unsigned>(C), kStatBlock, 0, current_stream()>>>(
        x, C, HW, M, running_mean, running_var, momentum, eps, save_mean, save_invstd);
    SN_CUDA_CHECK_LAUNCH();
  } else {
    batch_norm_eval_stats(C, running_mean, running_var, eps, save_mean, save_invstd);
  }
  normalize_kernel<<<blocks_for(total), kBlock, 0, current_stream()>>>(x, total, C, HW, save_mean, save_invstd,
                                                                       weight, bias, y);
  SN_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward(int64_t N, int64_t C, int64_t HW, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float* dx, float* dweight,
                         float* dbias) {
  check_sizes("batch_norm backward (CUDA)", N, C, HW);
  const int64_t M = N * HW, total = M * C;
  const bool need_means = dx && training;
  DeviceBuffer means(need_means ? 2 * static_cast<size_t>(C) * sizeof(float) : 0);
  float* mean_dy = need_means ? means.as<float>() : nullptr;
  float* mean_dy_xhat = need_means ? means.as<float>() + C : nullptr;
  if (dweight || dbias || need_means) {
    backward_sums_kernel<<<static_cast<unsigned>(C), kStatBlock, 0, current_stream()>>>(
        x, dy, C, HW, M, save_mean, save_invstd, dweight, dbias, mean_dy, mean_dy_xhat);
    SN_CUDA_CHECK_LAUNCH();
  }
  if (dx) {
    backward_dx_kernel<<<blocks_for(total), kBlock, 0, current_stream()>>>(x, dy, total, C, HW, save_mean, save_invstd,
                                                                           weight, mean_dy, mean_dy_xhat, dx);
    SN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace sn::cuda
