#include "engine/cpu/conv2d_nchwc_depthwise.h"

#include <algorithm>
#include <vector>

#include "engine/check.h"
#include "engine/cpu/conv2d_nchwc.h"  // out_size
#include "engine/cpu/conv2d_nchwc_tile.h"
#include "engine/cpu/nchwc_vec.h"

namespace sn::cpu::nchwc {

namespace {

// Output pixels a task covers, about: big enough that the task's overhead
// (a std::function call, the row pointers) vanishes, small enough that a
// batch-1 layer still gives every thread several tasks (tile::balanced_block).
constexpr int64_t kTaskPixels = 2048;

// Output rows [p0, p1) of one channel block: xp its input plane (H, W, 16),
// yp its output plane (P, Q, 16), wp its 9 weight vectors, bp its bias vector,
// all loaded once into registers. Input row p*STRIDE - 1 + r is a row of
// zeros where it falls into the padding (a zero tap adds exactly nothing, so
// the top and bottom rows need no code of their own). Columns: output q reads
// input columns q*STRIDE - 1 .. q*STRIDE + 1; the first and (for some W) the
// last output column reach into the padding and take the checked path, all
// others the unchecked one, 4 pixels at a time (4 independent chains of 9 FMAs).
template <int STRIDE, Activation ACT>
void rows(const float* xp, int64_t H, int64_t W, int64_t p0, int64_t p1, int64_t Q, const float* wp, const float* bp,
          const float* zero_row, float* yp) {
  Vec w[9];
  for (int t = 0; t < 9; ++t) w[t] = vloadu(wp + t * kBlock);
  const Vec bias = vloadu(bp);
  // Interior columns: q >= 1 and q*STRIDE + 1 <= W - 1.
  const int64_t q_end = std::min<int64_t>(Q, W >= 2 ? (W - 2) / STRIDE + 1 : 0), q_begin = std::min<int64_t>(1, q_end);
  for (int64_t p = p0; p < p1; ++p) {
    const float* xr[3];
    for (int r = 0; r < 3; ++r) {
      const int64_t ih = p * STRIDE - 1 + r;
      xr[r] = ih >= 0 && ih < H ? xp + ih * W * kBlock : zero_row;
    }
    float* y = yp + p * Q * kBlock;
    auto checked = [&](int64_t q) {
      Vec acc = bias;
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) {
          const int64_t iw = q * STRIDE - 1 + s;
          if (iw >= 0 && iw < W) acc = vfma(vloadu(xr[r] + iw * kBlock), w[r * 3 + s], acc);
        }
      vstoreu(y + q * kBlock, activate<ACT>(acc));
    };
    int64_t q = 0;
    for (; q < q_begin; ++q) checked(q);
    for (; q + 4 <= q_end; q += 4) {
      Vec acc[4] = {bias, bias, bias, bias};
#pragma GCC unroll 3
      for (int r = 0; r < 3; ++r) {
        const float* in = xr[r] + (q * STRIDE - 1) * kBlock;
#pragma GCC unroll 3
        for (int s = 0; s < 3; ++s)
#pragma GCC unroll 4
          for (int u = 0; u < 4; ++u) acc[u] = vfma(vloadu(in + (u * STRIDE + s) * kBlock), w[r * 3 + s], acc[u]);
      }
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) vstoreu(y + (q + u) * kBlock, activate<ACT>(acc[u]));
    }
    for (; q < q_end; ++q) {
      Vec acc = bias;
      for (int r = 0; r < 3; ++r) {
        const float* in = xr[r] + (q * STRIDE - 1) * kBlock;
        for (int s = 0; s < 3; ++s) acc = vfma(vloadu(in + s * kBlock), w[r * 3 + s], acc);
      }
      vstoreu(y + q * kBlock, activate<ACT>(acc));
    }
    for (; q < Q; ++q) checked(q);
  }
}

using RowsFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, const float*, const float*,
                        const float*, float*);

RowsFn rows_kernel(int64_t stride, Activation act) {
  const int a = act == Activation::None ? 0 : act == Activation::ReLU ? 1 : 2;
  static const RowsFn table[2][3] = {
      {rows<1, Activation::None>, rows<1, Activation::ReLU>, rows<1, Activation::ReLU6>},
      {rows<2, Activation::None>, rows<2, Activation::ReLU>, rows<2, Activation::ReLU6>}};
  return table[stride - 1][a];
}

}  // namespace

PackedDepthwise pack_depthwise(const float* w, const float* bias, int64_t C, int64_t stride) {
  SN_CHECK(C > 0 && (stride == 1 || stride == 2), "depthwise3x3 (nchwc): bad shape C=", C, " stride=", stride);
  PackedDepthwise pd;
  pd.C = C, pd.stride = stride;
  const int64_t Cb = blocks(C);
  pd.weights = tile::aligned_floats(Cb * 9 * kBlock);  // zeroed: padding channels stay zero
  pd.bias = tile::aligned_floats(Cb * kBlock);
  float* pw = pd.weights.get();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < 9; ++t) pw[((c / kBlock) * 9 + t) * kBlock + c % kBlock] = w[c * 9 + t];
  if (bias) std::copy(bias, bias + C, pd.bias.get());
  return pd;
}

void depthwise3x3(const PackedDepthwise& pd, int64_t N, int64_t H, int64_t W, const float* x, float* y,
                  Activation act) {
  SN_CHECK(N > 0 && H > 0 && W > 0, "depthwise3x3 (nchwc): empty input ", N, "x", H, "x", W);
  const int64_t S = pd.stride, Cb = blocks(pd.C), P = out_size(H, 3, S, 1), Q = out_size(W, 3, S, 1);
  const int64_t planes = N * Cb;
  const int64_t rows_per_task = tile::balanced_block(P, std::max<int64_t>(1, kTaskPixels / Q), planes, 8);
  const int64_t chunks = (P + rows_per_task - 1) / rows_per_task;
  const std::vector<float> zero_row(size_t(W * kBlock), 0.f);  // the padding rows, shared read-only
  const RowsFn kernel = rows_kernel(S, act);

  tile::run_tasks(planes * chunks, [&](int64_t task) {
    const int64_t plane = task / chunks, chunk = task % chunks, cb = plane % Cb;  // plane = n * Cb + cb
    const int64_t p0 = chunk * rows_per_task, p1 = std::min(P, p0 + rows_per_task);
    kernel(x + plane * H * W * kBlock, H, W, p0, p1, Q, pd.weights.get() + cb * 9 * kBlock, pd.bias.get() + cb * kBlock,
           zero_row.data(), y + plane * P * Q * kBlock);
  });
}

}  // namespace sn::cpu::nchwc
