// cpu/gemm/kernel_portable.cpp — the micro-kernel in plain C++, for CPUs (or builds)
// without AVX-512. Same tile, same contract as kernel_avx512.cpp; the compiler
// vectorizes the inner loops for whatever ISA it targets (AVX2, NEON, ...).
#include <algorithm>
#include <cmath>

#include "engine/cpu/gemm/kernel.h"

namespace sn::cpu::packed_gemm {

namespace {

template <int NV, bool TA>
void kernel_portable(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, float beta,
                     const float* bias, bool relu) {
  constexpr int MR = kMR, W = 16 * NV;
  float acc[MR][W] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* bk = b + k * W;
    for (int i = 0; i < MR; ++i) {
      const float ai = TA ? a[k * lda + i] : a[i * lda + k];
      for (int j = 0; j < W; ++j) acc[i][j] = std::fma(ai, bk[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < W; ++j) {
      float r = acc[i][j];
      float& out = c[i * ldc + j];
      if (beta == 1.f)
        r = r + out;
      else if (beta != 0.f)
        r = std::fma(beta, out, r);
      if (bias) r = r + bias[i];
      if (relu) r = std::max(r, 0.f);
      out = r;
    }
}

const KernelFn kKernels[2][3] = {{kernel_portable<1, false>, kernel_portable<2, false>, kernel_portable<3, false>},
                                 {kernel_portable<1, true>, kernel_portable<2, true>, kernel_portable<3, true>}};

}  // namespace

const KernelFn* portable_kernels(bool trans_a) { return kKernels[trans_a]; }

void merge_portable(const float* tile, int64_t width, int64_t mr, int64_t w, float* c_row0, int64_t ldc,
                    const int64_t* coff, float beta, const float* bias, bool relu) {
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < w; ++j) {
      float* out = c_row0 + r * ldc + coff[j];
      float v = tile[r * width + j];
      if (beta == 1.f)
        v = v + *out;
      else if (beta != 0.f)
        v = std::fma(beta, *out, v);
      if (bias) v = v + bias[r];
      if (relu) v = std::max(v, 0.f);
      *out = v;
    }
}

}  // namespace sn::cpu::packed_gemm
