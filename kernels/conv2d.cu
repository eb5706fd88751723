// conv2d.cu — im2col / col2im / axis-swap kernels and the chunked GEMM driver (see conv2d.cuh).
#include <algorithm>

#include "kernels/allocator.h"
#include "kernels/conv2d.cuh"
#include "kernels/gemm.cuh"
#include "kernels/launch.cuh"
#include "kernels/reduce.cuh"

namespace sn::cuda {

namespace {

// Most problems index in 32 bits (faster division); the kernels are templated
// on the index type and the launcher picks int64_t only when needed.
struct Dims {
  int64_t C, H, W, K, R, S, stride, pad, P, Q;
};

// col[(c*R + r)*S + s][n*PQ + p*Q + q] = x[n][c][p*stride - pad + r][q*stride - pad + s], 0 outside the image.
template <typename I>
__global__ void im2col_kernel(Dims d, const float* __restrict__ x, float* __restrict__ col, I nb) {
  const I PQ = I(d.P * d.Q), cols = nb * PQ, RS = I(d.R * d.S);
  const I total = I(d.C) * RS * cols;
  for (I i = blockIdx.x * I(blockDim.x) + threadIdx.x; i < total; i += I(gridDim.x) * I(blockDim.x)) {
    const I row = i / cols, j = i - row * cols;
    const I n = j / PQ, pq = j - n * PQ;
    const I p = pq / I(d.Q), q = pq - p * I(d.Q);
    const I c = row / RS, rs = row - c * RS;
    const I r = rs / I(d.S), s = rs - r * I(d.S);
    const I h = p * I(d.stride) - I(d.pad) + r, w = q * I(d.stride) - I(d.pad) + s;
    float v = 0.f;
    if (h >= 0 && h < I(d.H) && w >= 0 && w < I(d.W)) v = x[((n * I(d.C) + c) * I(d.H) + h) * I(d.W) + w];
    col[i] = v;
  }
}

// The adjoint, as a gather: dx[n][c][h][w] = sum over (r, s) whose output
// position (p, q) exists of dcol[(c*R + r)*S + s][n*PQ + p*Q + q]. One thread
// per dx element, no atomics: deterministic.
template <typename I>
__global__ void col2im_kernel(Dims d, const float* __restrict__ dcol, float* __restrict__ dx, I nb) {
  const I PQ = I(d.P * d.Q), cols = nb * PQ;
  const I total = nb * I(d.C * d.H * d.W);
  for (I i = blockIdx.x * I(blockDim.x) + threadIdx.x; i < total; i += I(gridDim.x) * I(blockDim.x)) {
    const I w = i % I(d.W), h = (i / I(d.W)) % I(d.H);
    const I c = (i / I(d.W * d.H)) % I(d.C), n = i / I(d.W * d.H * d.C);
    float sum = 0.f;
    for (I r = 0; r < I(d.R); ++r) {
      const I ph = h + I(d.pad) - r;  // = p * stride
      if (ph < 0 || ph % I(d.stride) != 0) continue;
      const I p = ph / I(d.stride);
      if (p >= I(d.P)) continue;
      for (I s = 0; s < I(d.S); ++s) {
        const I qw = w + I(d.pad) - s;
        if (qw < 0 || qw % I(d.stride) != 0) continue;
        const I q = qw / I(d.stride);
        if (q >= I(d.Q)) continue;
        sum += dcol[((c * I(d.R) + r) * I(d.S) + s) * cols + n * PQ + p * I(d.Q) + q];
      }
    }
    dx[i] = sum;
  }
}

// out (B, A, L) from in (A, B, L): out[b][a][l] = in[a][b][l] (+ bias[a]).
template <typename I>
__global__ void swap01_kernel(const float* __restrict__ in, float* __restrict__ out, I A, I B, I L,
                              const float* __restrict__ bias) {
  const I total = A * B * L;
  for (I i = blockIdx.x * I(blockDim.x) + threadIdx.x; i < total; i += I(gridDim.x) * I(blockDim.x)) {
    const I l = i % L, a = (i / L) % A, b = i / (L * A);
    const float v = in[(a * B + b) * L + l];
    out[i] = bias ? v + bias[a] : v;
  }
}

// int32 indexing when every index stays below this: headroom for the
// grid-stride step (at most 4096 * 256 = 2^20) added to the last index.
constexpr int64_t kInt32Max = 0x7fffffff - (int64_t(1) << 22);

void im2col(const Dims& d, const float* x, float* col, int64_t nb) {
  const int64_t total = d.C * d.R * d.S * nb * d.P * d.Q;
  const int64_t x_total = nb * d.C * d.H * d.W;  // the indices read, which a strided conv makes larger than total
  if (std::max(total, x_total) <= kInt32Max)
    im2col_kernel<int32_t><<<blocks_for(total), kBlock, 0, current_stream()>>>(d, x, col, int32_t(nb));
  else
    im2col_kernel<int64_t><<<blocks_for(total), kBlock, 0, current_stream()>>>(d, x, col, nb);
  SN_CUDA_CHECK_LAUNCH();
}

void col2im(const Dims& d, const float* dcol, float* dx, int64_t nb) {
  const int64_t total = nb * d.C * d.H * d.W;
  const int64_t col_total = d.C * d.R * d.S * nb * d.P * d.Q;
  if (std::max(total, col_total) <= kInt32Max)
    col2im_kernel<int32_t><<<blocks_for(total), kBlock, 0, current_stream()>>>(d, dcol, dx, int32_t(nb));
  else
    col2im_kernel<int64_t><<<blocks_for(total), kBlock, 0, current_stream()>>>(d, dcol, dx, nb);
  SN_CUDA_CHECK_LAUNCH();
}

void swap01(const float* in, float* out, int64_t A, int64_t B, int64_t L, const float* bias) {
  const int64_t total = A * B * L;
  if (total <= kInt32Max)
    swap01_kernel<int32_t>
        <<<blocks_for(total), kBlock, 0, current_stream()>>>(in, out, int32_t(A), int32_t(B), int32_t(L), bias);
  else
    swap01_kernel<int64_t><<<blocks_for(total), kBlock, 0, current_stream()>>>(in, out, A, B, L, bias);
  SN_CUDA_CHECK_LAUNCH();
}

Dims dims(const Conv2dShape& s) {
  SN_CHECK(
      s.N >= 0 && s.C >= 1 && s.H >= 1 && s.W >= 1 && s.K >= 1 && s.R >= 1 && s.S >= 1 && s.stride >= 1 && s.pad >= 0,
      "conv2d (CUDA native): bad shape N=", s.N, " C=", s.C, " H=", s.H, " W=", s.W, " K=", s.K, " R=", s.R, " S=", s.S,
      " stride=", s.stride, " pad=", s.pad);
  SN_CHECK(s.P == (s.H + 2 * s.pad - s.R) / s.stride + 1 && s.Q == (s.W + 2 * s.pad - s.S) / s.stride + 1 && s.P >= 1 &&
               s.Q >= 1,
           "conv2d (CUDA native): output ", s.P, "x", s.Q, " does not match the input and kernel");
  return {s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.P, s.Q};
}

// Images per chunk: the col matrix (C*R*S, nb*P*Q) and the (K, nb*P*Q) matrix
// stay under kWorkspaceFloats each (at least one image).
int64_t images_per_chunk(const Conv2dShape& s) {
  constexpr int64_t kWorkspaceFloats = int64_t(64) << 20;  // 256 MB
  const int64_t per_image = std::max(s.C * s.R * s.S, s.K) * s.P * s.Q;
  return std::max<int64_t>(1, std::min<int64_t>(s.N, kWorkspaceFloats / per_image));
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  const Dims d = dims(s);
  if (s.N == 0) return;
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, nb_max = images_per_chunk(s);
  DeviceBuffer col(static_cast<size_t>(CRS * nb_max * PQ) * sizeof(float));
  DeviceBuffer tmp(static_cast<size_t>(s.K * nb_max * PQ) * sizeof(float));
  for (int64_t n0 = 0; n0 < s.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, s.N - n0), cols = nb * PQ;
    im2col(d, x + n0 * s.C * s.H * s.W, col.as<float>(), nb);
    sgemm(false, false, s.K, cols, CRS, 1.f, w, CRS, col.as<float>(), cols, 0.f, tmp.as<float>(), cols);
    swap01(tmp.as<float>(), y + n0 * s.K * PQ, s.K, nb, PQ, bias);  // (K, nb, PQ) -> (nb, K, PQ)
  }
}

void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const Dims d = dims(s);
  if (s.N == 0) return;
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, nb_max = images_per_chunk(s);
  DeviceBuffer dcol(static_cast<size_t>(CRS * nb_max * PQ) * sizeof(float));
  DeviceBuffer dyT(static_cast<size_t>(s.K * nb_max * PQ) * sizeof(float));
  for (int64_t n0 = 0; n0 < s.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, s.N - n0), cols = nb * PQ;
    swap01(dy + n0 * s.K * PQ, dyT.as<float>(), nb, s.K, PQ, nullptr);  // (nb, K, PQ) -> (K, nb, PQ)
    // dcol (CRS, cols) = w^T (CRS, K) * dyT (K, cols); w is stored (K, CRS).
    sgemm(true, false, CRS, cols, s.K, 1.f, w, CRS, dyT.as<float>(), cols, 0.f, dcol.as<float>(), cols);
    col2im(d, dcol.as<float>(), dx + n0 * s.C * s.H * s.W, nb);
  }
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const Dims d = dims(s);
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, nb_max = images_per_chunk(s);
  if (s.N == 0) {
    SN_CUDA_CHECK(cudaMemsetAsync(dw, 0, static_cast<size_t>(s.K * CRS) * sizeof(float), current_stream()));
    return;
  }
  DeviceBuffer col(static_cast<size_t>(CRS * nb_max * PQ) * sizeof(float));
  DeviceBuffer dyT(static_cast<size_t>(s.K * nb_max * PQ) * sizeof(float));
  for (int64_t n0 = 0; n0 < s.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, s.N - n0), cols = nb * PQ;
    im2col(d, x + n0 * s.C * s.H * s.W, col.as<float>(), nb);
    swap01(dy + n0 * s.K * PQ, dyT.as<float>(), nb, s.K, PQ, nullptr);
    // dw (K, CRS) (+)= dyT (K, cols) * col^T (cols, CRS); col is stored (CRS, cols). K x CRS is
    // often a few tiles and cols long (conv1 at batch 32: 64 x 147 over 401,408): split-K.
    sgemm_split_k(false, true, s.K, CRS, cols, 1.f, dyT.as<float>(), cols, col.as<float>(), cols, n0 == 0 ? 0.f : 1.f,
                  dw, CRS, split_k_count(s.K, CRS, cols));
  }
}

void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db) {
  dims(s);
  sum_outer_inner(dy, db, s.N, s.K, s.P * s.Q);
}

}  // namespace sn::cuda
