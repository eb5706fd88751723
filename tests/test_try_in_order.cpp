// The cuDNN convolution's algorithm fallback without a GPU: try_in_order (the
// first candidate that runs wins, the others' reasons are kept) and, in CUDA
// builds, the order in which cuDNN's candidates are tried (kernels/cudnn_conv_order.h).
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/try_in_order.h"
#include "tests/helpers.h"
#if SCRATCHNET_CUDA && !SCRATCHNET_CUDASIM
#include "kernels/cudnn_conv_order.h"
#endif

using namespace sn;

TEST_CASE("try_in_order: the first candidate fails, the second is chosen, the third never runs", "[algo]") {
  const std::vector<int> cands = {7, 1, 2};
  std::vector<int> tried;
  std::vector<std::string> why;
  const size_t i = try_in_order(
      cands,
      [&](int c) -> std::string {
        tried.push_back(c);
        return c == 7 ? "CUDNN_STATUS_NOT_SUPPORTED" : "";  // forced failure of the first
      },
      &why);
  CHECK(i == 1);
  CHECK(cands[i] == 1);
  CHECK(tried == std::vector<int>{7, 1});
  REQUIRE(why.size() == 1);
  CHECK(why[0] == "CUDNN_STATUS_NOT_SUPPORTED");
}

TEST_CASE("try_in_order: the first that works is taken at once, none working says why for each", "[algo]") {
  std::vector<std::string> why = {"stale"};
  int calls = 0;
  CHECK(try_in_order(
            std::vector<int>{3, 4},
            [&](int) {
              ++calls;
              return std::string();
            },
            &why) == 0);
  CHECK(calls == 1);
  CHECK(why.empty());  // cleared

  const std::vector<int> cands = {0, 1, 5};
  const size_t i = try_in_order(
      cands, [](int c) { return "failed " + std::to_string(c); }, &why);
  CHECK(i == cands.size());
  CHECK(why == std::vector<std::string>{"failed 0", "failed 1", "failed 5"});
  const std::string msg = describe_failures(cands, why, [](int c) { return "ALGO_" + std::to_string(c); });
  CHECK(msg == "ALGO_0: failed 0; ALGO_1: failed 1; ALGO_5: failed 5");

  CHECK(try_in_order(
            std::vector<int>{}, [](int) { return std::string(); }, &why) == 0);  // empty: size() == 0
  CHECK(describe_failures(std::vector<int>{}, why, [](int) { return std::string(); }) == "no candidates");
  CHECK(try_in_order(
            cands, [](int c) { return c == 5 ? "" : "no"; }, nullptr) == 2);  // reasons not wanted
}

TEST_CASE("try_in_order: an error no other candidate can avoid propagates at once", "[algo]") {
  int calls = 0;
  std::vector<std::string> why;
  CHECK_THROWS_WITH(try_in_order(
                        std::vector<int>{1, 2, 3},
                        [&](int c) -> std::string {
                          ++calls;
                          if (c == 2) throw std::runtime_error("device lost");
                          return "not supported";
                        },
                        &why),
                    "device lost");
  CHECK(calls == 2);
}

#if SCRATCHNET_CUDA && !SCRATCHNET_CUDASIM
namespace {
cudnnConvolutionFwdAlgoPerf_t fwd(cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math, bool deterministic,
                                  size_t memory = 0, cudnnStatus_t status = CUDNN_STATUS_SUCCESS) {
  cudnnConvolutionFwdAlgoPerf_t p{};
  p.algo = algo;
  p.status = status;
  p.memory = memory;
  p.determinism = deterministic ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC;
  p.mathType = math;
  return p;
}
std::vector<int> algos(const std::vector<cudnn::ConvChoice>& v) {
  std::vector<int> out;
  for (const auto& c : v) out.push_back(c.algo);
  return out;
}
}  // namespace

TEST_CASE("cuDNN conv candidates: TF32 off puts FFT/Winograd last, drops tensor-op entries, TF32 on keeps cuDNN order",
          "[algo]") {
  // As cuDNN's heuristics might list them, best first.
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> perf = {
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_FMA_MATH, true),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH, true),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_FMA_MATH, true),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_FMA_MATH, false),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_FMA_MATH, true),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_DEFAULT_MATH, true),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, CUDNN_FMA_MATH, true, 0, CUDNN_STATUS_NOT_SUPPORTED),
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_FMA_MATH, true, (size_t(1) << 30) + 1),  // over the workspace cap
      fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_FMA_MATH, true),  // same (algo, math) as the 4th: once
  };
  const int n = int(perf.size());
  const auto off = cudnn::order_conv_candidates(perf.data(), n, false, cudnn::forward_algo_approximate);
  // FMA + deterministic, FMA, other math (run as FMA), then the approximate ones in the same order.
  CHECK(algos(off) == std::vector<int>{CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                                       CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_CONVOLUTION_FWD_ALGO_FFT});
  for (const auto& c : off) CHECK(c.math == CUDNN_FMA_MATH);

  const auto on = cudnn::order_conv_candidates(perf.data(), n, true, cudnn::forward_algo_approximate);
  CHECK(algos(on) == std::vector<int>{CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_FFT,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM});
  CHECK(on[1].math == CUDNN_TENSOR_OP_MATH);
  CHECK(on[3].math == CUDNN_FMA_MATH);

  CHECK(cudnn::backward_data_algo_approximate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED));
  CHECK(!cudnn::backward_data_algo_approximate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1));
  CHECK(cudnn::backward_filter_algo_approximate(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING));
  CHECK(!cudnn::backward_filter_algo_approximate(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3));
}
#endif
