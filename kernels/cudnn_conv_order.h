// cudnn_conv_order.h — the order in which kernels/cudnn_conv.cpp tries cuDNN's
// convolution algorithms. Host logic over cuDNN's perf structs, no cuDNN call:
// tested without a GPU (tests/test_try_in_order.cpp).
#pragma once
#include <cudnn.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace sn::cudnn {

struct ConvChoice {
  int algo;              // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
  cudnnMathType_t math;  // set on the descriptor before running
  size_t workspace;      // bytes, as the perf entry said (the run asks again)
};

constexpr size_t kMaxConvWorkspace = size_t(1) << 30;  // never run an algorithm needing more than 1 GiB

// FFT and Winograd: their transforms round unlike a float32 sum of products.
inline bool forward_algo_approximate(int a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
inline bool backward_data_algo_approximate(int a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}
inline bool backward_filter_algo_approximate(int a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

// The candidates in order of preference, from a perf list (best first): only entries
// cuDNN reports usable (status OK) with a workspace under the cap, each (algo, math)
// once.
// - TF32 off (the default): entries computed in FMA math first, deterministic before
//   not; the descriptor then runs with CUDNN_FMA_MATH (float32 FMA kernels only);
//   tensor-op entries are left out. FFT and Winograd come after every other
//   algorithm: errors up to ~1e-4 relative instead of a float32 sum's ~1e-7 would
//   break the promise that without --tf32 the GPU matches the float32 CPU (and the
//   tests' 1e-5 bound). They stay as a last resort, so that a shape never fails for
//   lack of an algorithm.
// - TF32 on: deterministic first, any algorithm, with cuDNN's math type.
template <typename Perf, typename Approximate>
std::vector<ConvChoice> order_conv_candidates(const Perf* perf, int count, bool tf32, Approximate&& approximate) {
  struct Ranked {
    int rank;
    ConvChoice c;
  };
  std::vector<Ranked> ranked;
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxConvWorkspace) continue;
    const bool deterministic = p.determinism == CUDNN_DETERMINISTIC;
    int rank;
    if (tf32) {
      rank = deterministic ? 0 : 1;
    } else {
      if (p.mathType == CUDNN_TENSOR_OP_MATH) continue;
      const bool fma = p.mathType == CUDNN_FMA_MATH;
      rank = fma && deterministic ? 0 : fma ? 1 : 2;
      if (approximate(int(p.algo))) rank += 3;
    }
    ranked.push_back({rank, ConvChoice{int(p.algo), tf32 ? p.mathType : CUDNN_FMA_MATH, p.memory}});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.rank < b.rank; });
  std::vector<ConvChoice> out;
  for (const Ranked& r : ranked) {
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const ConvChoice& c) { return c.algo == r.c.algo && c.math == r.c.math; });
    if (!seen) out.push_back(r.c);
  }
  return out;
}

}  // namespace sn::cudnn
