// cross_entropy.cu — fused softmax + cross-entropy: the probabilities are
// never written to memory; forward reads the logits once per pass, backward
// writes the gradient directly.
//
// Forward: one block per row computes that row's loss into a scratch vector,
// then a single block sums the N row losses in a fixed order and divides by N
// (deterministic: no atomics).
#include "kernels/allocator.h"
#include "kernels/cross_entropy.cuh"
#include "kernels/launch.cuh"
#include "kernels/pinned.h"

namespace sn::cuda {

namespace {

constexpr int kRowBlock = 128;

__global__ void row_loss_kernel(const float* __restrict__ logits, const int64_t* __restrict__ labels,
                                float* __restrict__ row_loss, int64_t K) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* x = logits + row * K;
  float m, log_sum;
  row_max_logsumexp(x, K, scratch, m, log_sum);  // kernels/launch.cuh
  if (threadIdx.x == 0) {
    const int64_t label = labels[row];
    row_loss[row] = (label >= 0 && label < K) ? (m + log_sum) - x[label] : NAN;
  }
}

// One block: loss = sum(row_loss) / N, each thread summing a strided subset, then block_sum.
__global__ void mean_kernel(const float* __restrict__ row_loss, float* __restrict__ loss, int64_t N) {
  __shared__ float scratch[32];
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) s += row_loss[i];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) *loss = s / static_cast<float>(N);
}

__global__ void backward_kernel(const float* __restrict__ logits, const int64_t* __restrict__ labels,
                                const float* __restrict__ grad_loss, float* __restrict__ dlogits, int64_t N,
                                int64_t K) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* x = logits + row * K;
  float* dx = dlogits + row * K;
  float m, log_sum;
  row_max_logsumexp(x, K, scratch, m, log_sum);  // kernels/launch.cuh
  const int64_t label = labels[row];
  const float g = *grad_loss / static_cast<float>(N);
  const bool ok = label >= 0 && label < K;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    const float p = expf(x[k] - m - log_sum);
    dx[k] = ok ? g * (p - (k == label ? 1.f : 0.f)) : NAN;
  }
}

void check(const char* what, int64_t N, int64_t K) {
  SN_CHECK(N >= 1 && K >= 1, what, ": bad logits shape (", N, ", ", K, ")");
  SN_CHECK(N <= 0x7fffffff, what, ": ", N, " rows exceed the grid");
}

// The host labels as int64 in device memory, through a pinned staging ring
// (kernels/pinned.h): a copy straight out of pageable memory may make the driver
// wait for the whole queued forward pass first. The device buffer lives until the
// kernels that read it have been queued; the allocator's stream order does the rest.
DeviceBuffer upload_labels(const int64_t* labels, int64_t N) {
  static StagingRing* ring = new StagingRing();  // never destroyed (as the allocator)
  DeviceBuffer d(static_cast<size_t>(N) * sizeof(int64_t));
  ring->upload(d.get(), labels, d.bytes());
  return d;
}

}  // namespace

void cross_entropy_forward(int64_t N, int64_t K, const float* x, const int64_t* labels, float* loss) {
  check("cross_entropy (CUDA)", N, K);
  DeviceBuffer dlabels = upload_labels(labels, N);
  DeviceBuffer row_loss(static_cast<size_t>(N) * sizeof(float));  // freed to the cache; stream order keeps it valid
  row_loss_kernel<<<static_cast<unsigned>(N), kRowBlock, 0, current_stream()>>>(x, dlabels.as<int64_t>(),
                                                                                row_loss.as<float>(), K);
  SN_CUDA_CHECK_LAUNCH();
  mean_kernel<<<1, 256, 0, current_stream()>>>(row_loss.as<float>(), loss, N);
  SN_CUDA_CHECK_LAUNCH();
}

void cross_entropy_backward(int64_t N, int64_t K, const float* x, const int64_t* labels, const float* grad_loss,
                            float* dx) {
  check("cross_entropy backward (CUDA)", N, K);
  DeviceBuffer dlabels = upload_labels(labels, N);
  backward_kernel<<<static_cast<unsigned>(N), kRowBlock, 0, current_stream()>>>(x, dlabels.as<int64_t>(), grad_loss, dx,
                                                                                N, K);
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
