// cpu/conv2d_forward.cpp — the fast convolution forward: one packed GEMM over the
// whole batch, its B the implicit im2col matrix (engine/cpu/conv2d_forward.h).
#include "engine/cpu/conv2d_forward.h"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "engine/check.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_im2col.h"
#include "engine/cpu/gemm/driver.h"

namespace sn::cpu {

using namespace packed_gemm;

void conv2d_forward_gemm(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y, bool relu,
                         bool accumulate) {
  const int64_t image_in = s.C * s.H * s.W, image_out = s.K * s.P * s.Q;
  SN_CHECK(image_in < (int64_t(1) << 30), "conv2d: one input image of ", image_in,
           " floats is too large for 32-bit gather offsets");
  // Offsets inside the batch are 32-bit (for the gathers): split very large
  // batches into chunks of at most 2^30 input floats.
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 30) / image_in);
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    Conv2dShape sc = s;
    sc.N = std::min(chunk, s.N - n0);
    const std::unique_ptr<BSource> b = make_im2col_source(sc, x + n0 * image_in);
    CTarget c;
    c.c = y + n0 * image_out;
    c.ldc = s.P * s.Q;
    c.group_cols = s.P * s.Q;
    c.group_stride = image_out;
    Epilogue ep;
    ep.bias = bias;
    ep.relu = relu;
    ep.beta = accumulate ? 1.f : 0.f;
    run(s.K, sc.N * s.P * s.Q, s.C * s.R * s.S, w, s.C * s.R * s.S, false, *b, c, ep);
  }
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  conv2d_forward_gemm(s, x, w, bias, y);
}

}  // namespace sn::cpu
