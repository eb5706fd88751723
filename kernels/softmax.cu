// softmax.cu — row-wise softmax family: one block per row.
//
// Each block reduces its row twice (max, then the sum of exp(x - max)) with
// block_max/block_sum from launch.cuh, in a fixed order, so results repeat
// exactly. Subtracting the max keeps exp() from overflowing. expf/logf are
// the accurate versions (no fast-math), within 2 ulp.
#include "kernels/launch.cuh"
#include "kernels/softmax.cuh"

namespace sn::cuda {

namespace {

constexpr int kRowBlock = 128;

__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t K, bool log_out) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  x += row * K;
  y += row * K;
  float m, log_sum;
  row_max_logsumexp(x, K, scratch, m, log_sum);  // kernels/launch.cuh
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    const float z = x[k] - m - log_sum;  // log_softmax
    y[k] = log_out ? z : expf(z);
  }
}

// softmax: dx = y * (dy - sum(dy*y)); log_softmax: dx = dy - exp(y) * sum(dy).
__global__ void softmax_backward_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                        float* __restrict__ dx, int64_t K, bool log_out) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  y += row * K;
  dy += row * K;
  dx += row * K;
  float s = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) s += log_out ? dy[k] : dy[k] * y[k];
  s = block_sum(s, scratch);
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) dx[k] = log_out ? dy[k] - expf(y[k]) * s : y[k] * (dy[k] - s);
}

// One thread per row, the CPU's loop exactly (engine/cpu/softmax.cpp): a strict
// `>` keeps the first of equal maxima, and a NaN is never "greater", so any
// input, NaN included, gives the CPU's answer. Rows are short (class scores).
__global__ void argmax_kernel(const float* __restrict__ x, int64_t* __restrict__ index, int64_t N, int64_t K) {
  const int64_t row = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (row >= N) return;
  const float* r = x + row * K;
  int64_t best = 0;
  for (int64_t j = 1; j < K; ++j)
    if (r[j] > r[best]) best = j;
  index[row] = best;
}

void check_rows(const char* what, int64_t N, int64_t K) {
  SN_CHECK(N >= 0 && K >= 1, what, ": bad shape (", N, ", ", K, "): need at least one column");
  SN_CHECK(N <= 0x7fffffff, what, ": ", N, " rows exceed the grid");
}

}  // namespace

void softmax_forward(int64_t N, int64_t K, const float* x, float* y) {
  check_rows("softmax", N, K);
  if (N == 0) return;
  softmax_kernel<<<static_cast<unsigned>(N), kRowBlock, 0, current_stream()>>>(x, y, K, false);
  SN_CUDA_CHECK_LAUNCH();
}

void log_softmax_forward(int64_t N, int64_t K, const float* x, float* y) {
  check_rows("log_softmax", N, K);
  if (N == 0) return;
  softmax_kernel<<<static_cast<unsigned>(N), kRowBlock, 0, current_stream()>>>(x, y, K, true);
  SN_CUDA_CHECK_LAUNCH();
}

void softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx) {
  check_rows("softmax backward", N, K);
  if (N == 0) return;
  softmax_backward_kernel<<<static_cast<unsigned>(N), kRowBlock, 0, current_stream()>>>(y, dy, dx, K, false);
  SN_CUDA_CHECK_LAUNCH();
}

void log_softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx) {
  check_rows("log_softmax backward", N, K);
  if (N == 0) return;
  softmax_backward_kernel<<<static_cast<unsigned>(N), kRowBlock, 0, current_stream()>>>(y, dy, dx, K, true);
  SN_CUDA_CHECK_LAUNCH();
}

void argmax(int64_t N, int64_t K, const float* x, int64_t* index) {
  check_rows("argmax", N, K);
  if (N == 0) return;
  argmax_kernel<<<static_cast<unsigned>((N + kRowBlock - 1) / kRowBlock), kRowBlock, 0, current_stream()>>>(x, index, N,
                                                                                                            K);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
