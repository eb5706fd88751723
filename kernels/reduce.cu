// reduce.cu — y[c] = sum over (o, i) of x[o][c][i] (see reduce.cuh).
//
// inner > 1 (conv): one block per channel; its threads stride over the
// outer*inner values of that channel (runs of `inner` contiguous floats, so
// reads are coalesced), then a block reduction in a fixed order.
// inner == 1 (linear): the channel is a column of an (outer, C) matrix; one
// thread per column walks down the rows, so a warp reads 32 adjacent floats of
// each row. Both are deterministic.
#include "kernels/launch.cuh"
#include "kernels/reduce.cuh"

namespace sn::cuda {

namespace {

__global__ void sum_channels_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t outer, int64_t C,
                                    int64_t inner) {
  __shared__ float scratch[32];
  const int64_t c = blockIdx.x;
  const int64_t total = outer * inner;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < total; j += blockDim.x) {
    const int64_t o = j / inner, i = j - o * inner;
    s += x[(o * C + c) * inner + i];
  }
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) y[c] = s;
}

__global__ void sum_columns_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t cols) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float s = 0.f;
  for (int64_t r = 0; r < rows; ++r) s += x[r * cols + c];
  y[c] = s;
}

}  // namespace

void sum_outer_inner(const float* x, float* y, int64_t outer, int64_t C, int64_t inner) {
  SN_CHECK(outer >= 0 && C >= 0 && inner >= 0, "sum_outer_inner: negative size (", outer, ", ", C, ", ", inner, ")");
  if (C == 0) return;
  if (inner == 1) {
    sum_columns_kernel<<<static_cast<unsigned>((C + kBlock - 1) / kBlock), kBlock, 0, current_stream()>>>(x, y, outer,
                                                                                                          C);
  } else {
    SN_CHECK(C <= 0x7fffffff, "sum_outer_inner: ", C, " channels exceed the grid");
    sum_channels_kernel<<<static_cast<unsigned>(C), kBlock, 0, current_stream()>>>(x, y, outer, C, inner);
  }
  SN_CUDA_CHECK_LAUNCH();
}

}  // namespace sn::cuda
