// The op table (tests/op_table.h): every op case run on every backend, the CPU fast path,
// our CUDA kernels and cuDNN, against the double reference, forward and every gradient.
// One row per case; the runner is tests/test_cuda_ops_check.cpp. The [cuda] test files
// keep only what a table row cannot say (cuDNN's algorithm cache, unaligned views, NaN
// bit patterns, argmax ties, grouped conv's determinism, dropout's mask against the CPU's).
//
// Also the kernel contract (engine/kernel_contract.h), checked at compile time: for every
// entry, cpu::, cuda::, cudnn:: and gpu:: have the same signature.
#include <array>
#include <set>
#include <type_traits>
#include <vector>

#include "engine/backend_config.h"
#include "engine/cpu/adaptive_pool.h"
#include "engine/cpu/batch_norm.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_grouped.h"
#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/pooling.h"
#include "engine/cpu/softmax.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"
#include "tests/op_table.h"
#if SCRATCHNET_CUDA
#include "kernels/adaptive_pool.cuh"
#include "kernels/batch_norm.cuh"
#include "kernels/conv2d.cuh"
#include "kernels/conv2d_grouped.cuh"
#include "kernels/cross_entropy.cuh"
#include "kernels/cudnn_ops.h"
#include "kernels/elementwise.cuh"
#include "kernels/gemm.cuh"
#include "kernels/linear.cuh"
#include "kernels/pooling.cuh"
#include "kernels/select.h"
#include "kernels/softmax.cuh"
#endif

using namespace sn;
using namespace sn::test;

// ---- the kernel contract ---------------------------------------------------------------
#if SCRATCHNET_CUDA
#define SN_SAME_ENTRY(a, b, fn)                                        \
  static_assert(std::is_same_v<decltype(&a::fn), decltype(&b::fn)>, #a \
                "::" #fn " and " #b "::" #fn " differ: every backend has the signature of engine/kernel_contract.h")
SN_SAME_ENTRY(cpu, cuda, relu_forward);
SN_SAME_ENTRY(cpu, cuda, relu_backward);
SN_SAME_ENTRY(cpu, cuda, add_forward);
SN_SAME_ENTRY(cpu, cuda, scale_forward);
SN_SAME_ENTRY(cpu, cuda, relu6_forward);
SN_SAME_ENTRY(cpu, cuda, relu6_backward);
SN_SAME_ENTRY(cpu, cuda, mul_forward);
SN_SAME_ENTRY(cpu, cuda, linear_forward);
SN_SAME_ENTRY(cpu, cuda, linear_backward_input);
SN_SAME_ENTRY(cpu, cuda, linear_backward_weight);
SN_SAME_ENTRY(cpu, cuda, linear_backward_bias);
SN_SAME_ENTRY(cpu, cuda, avg_pool_1x1_forward);
SN_SAME_ENTRY(cpu, cuda, avg_pool_1x1_backward);
SN_SAME_ENTRY(cpu, cuda, adaptive_avg_pool2d_forward);
SN_SAME_ENTRY(cpu, cuda, adaptive_avg_pool2d_backward);
// Grouped conv2d: cpu:: and cuda:: (gpu:: and cudnn:: take G in the dense entries' shape, above).
SN_SAME_ENTRY(cpu, cuda, conv2d_grouped_forward);
SN_SAME_ENTRY(cpu, cuda, conv2d_grouped_backward_input);
SN_SAME_ENTRY(cpu, cuda, conv2d_grouped_backward_weight);
SN_SAME_ENTRY(cpu, cuda, softmax_forward);
SN_SAME_ENTRY(cpu, cuda, softmax_backward);
SN_SAME_ENTRY(cpu, cuda, log_softmax_forward);
SN_SAME_ENTRY(cpu, cuda, log_softmax_backward);
SN_SAME_ENTRY(cpu, cuda, argmax);
SN_SAME_ENTRY(cpu, cuda, cross_entropy_forward);
SN_SAME_ENTRY(cpu, cuda, cross_entropy_backward);
// The ops with a cuDNN variant: cpu::, cuda::, cudnn:: and the gpu:: that picks one.
#define SN_SAME_ENTRY_ALL(fn)    \
  SN_SAME_ENTRY(cpu, cuda, fn);  \
  SN_SAME_ENTRY(cpu, cudnn, fn); \
  SN_SAME_ENTRY(cpu, gpu, fn)
SN_SAME_ENTRY_ALL(conv2d_forward);
SN_SAME_ENTRY_ALL(conv2d_backward_input);
SN_SAME_ENTRY_ALL(conv2d_backward_weight);
SN_SAME_ENTRY(cpu, cuda, conv2d_backward_bias);  // no cuDNN variant: gpu:: runs ours
SN_SAME_ENTRY(cpu, gpu, conv2d_backward_bias);
SN_SAME_ENTRY_ALL(batch_norm_forward);
SN_SAME_ENTRY_ALL(batch_norm_backward);
SN_SAME_ENTRY_ALL(max_pool2d_forward);
SN_SAME_ENTRY_ALL(max_pool2d_backward);
#undef SN_SAME_ENTRY_ALL
#undef SN_SAME_ENTRY
#endif

// ---- the table ---------------------------------------------------------------------------
namespace {

std::vector<OpCase> op_table() {
  std::vector<OpCase> t;
  // Elementwise: a single element, an odd count (the float4 kernels' scalar tail), a few thousand.
  for (Op op : {Op::Relu, Op::Relu6, Op::Add, Op::Mul, Op::Scale})
    for (int64_t n : {1, 5, 3000}) t.push_back(elementwise(op, n));
  // linear (N, in, out): the experiment's heads (2048 -> 2, 512 -> 2), odd sizes, more than one 128-tile.
  for (bool bias : {true, false})
    for (auto [N, in, out] :
         {std::array<int64_t, 3>{32, 2048, 2}, {32, 512, 2}, {5, 7, 3}, {1, 1, 1}, {130, 300, 129}, {64, 1000, 257}})
      t.push_back(linear_case(N, in, out, bias));
  // conv2d: odd sizes, strides 1 and 2, 1x1 / 3x3 / 5x5 / 7x7 kernels, padding 0..3,
  // non-square images: every index path of im2col and col2im. The last: the split-K weight gradient.
  t.push_back(conv_case(2, 3, 11, 13, 4, 3, 1, 1, true));
  t.push_back(conv_case(3, 5, 9, 9, 7, 3, 2, 1, false));
  t.push_back(conv_case(2, 8, 10, 10, 16, 1, 1, 0, true));
  t.push_back(conv_case(2, 4, 15, 14, 6, 7, 2, 3, false));
  t.push_back(conv_case(1, 16, 7, 7, 32, 1, 2, 0, true));
  t.push_back(conv_case(2, 3, 5, 6, 2, 5, 1, 0, true));
  t.push_back(conv_case(4, 33, 6, 6, 130, 3, 1, 1, false));
  t.push_back(conv_case(2, 3, 40, 40, 8, 3, 1, 1, true));
  // Grouped conv2d (the last argument: groups): depthwise stride 1 and 2 on odd sizes, a
  // kernel as large as the padded map, 2 and 4 groups of several channels, a depth multiplier.
  t.push_back(conv_case(2, 5, 9, 7, 5, 3, 1, 1, true, 5));
  t.push_back(conv_case(2, 6, 9, 8, 6, 3, 2, 1, false, 6));
  t.push_back(conv_case(1, 3, 4, 4, 3, 6, 1, 1, true, 3));
  t.push_back(conv_case(2, 4, 7, 7, 6, 3, 1, 1, true, 2));
  t.push_back(conv_case(1, 12, 8, 9, 8, 3, 2, 1, false, 4));
  t.push_back(conv_case(2, 3, 6, 6, 6, 3, 1, 1, true, 3));
  // batch_norm (not N*H*W = 2 in training: the two normalized values are then +-1 and the
  // exact input gradient nearly cancels to 0, so no float32 code meets a relative bound).
  // The last three split each channel over several blocks (kernels/batch_norm.cu: chunks
  // of >= 2048 values): 3 chunks ending mid-plane with planes longer than a block (33x37),
  // 2 chunks of 7x7 planes, and 4 chunks of 1x1 planes.
  t.push_back(bn_case(4, 3, 5, 7, true, true, 1e-5f));
  t.push_back(bn_case(8, 16, 1, 1, true, true, 1e-5f));
  t.push_back(bn_case(8, 32, 7, 7, false, true, 1e-3f));
  t.push_back(bn_case(4, 3, 5, 7, true, false, 1e-5f));
  t.push_back(bn_case(3, 9, 4, 4, false, false, 1e-3f));
  t.push_back(bn_case(2, 64, 28, 28, true, true, 1e-5f));
  t.push_back(bn_case(5, 3, 33, 37, true, true, 1e-5f));
  t.push_back(bn_case(64, 4, 7, 7, false, true, 1e-5f));
  t.push_back(bn_case(7000, 2, 1, 1, true, true, 1e-5f));
  // max_pool2d: ResNet's 3x3 s2 p1 on odd sizes, 2x2 s2, overlapping windows (stride 1), ResNet's stem.
  t.push_back(max_pool_case(2, 3, 9, 11, 3, 2, 1));
  t.push_back(max_pool_case(2, 4, 8, 8, 2, 2, 0));
  t.push_back(max_pool_case(1, 2, 7, 5, 3, 1, 1));
  t.push_back(max_pool_case(4, 64, 56, 56, 3, 2, 1));
  // Global average pooling: ResNet's 7x7, 1x1 planes, odd planes, ResNet-50's head at batch 32.
  t.push_back(avg_pool_case(2, 3, 7, 7));
  t.push_back(avg_pool_case(3, 70, 1, 1));
  t.push_back(avg_pool_case(2, 5, 13, 11));
  t.push_back(avg_pool_case(32, 2048, 7, 7));
  // Adaptive average pooling to any size: VGG's 7x7 of a 7x7 map (the identity), of larger
  // maps (overlapping bins where 7 does not divide), of smaller ones (bins repeat inputs),
  // non-square, and VGG-16's at 448 (512 channels of 14x14).
  for (auto [N, C, H, W, P, Q] : {std::array<int64_t, 6>{2, 3, 7, 7, 7, 7},
                                  {2, 2, 10, 9, 7, 7},
                                  {1, 3, 5, 5, 3, 3},
                                  {2, 2, 3, 4, 7, 7},
                                  {1, 2, 8, 11, 3, 5},
                                  {4, 512, 14, 14, 7, 7}})
    t.push_back(adaptive_pool_case(N, C, H, W, P, Q));
  // Rows (N, K): the experiment's (32, 2), a single row, ImageNet's 1000 classes, K above the block size.
  for (Op op : {Op::Softmax, Op::LogSoftmax, Op::CrossEntropy})
    for (auto [N, K] : {std::array<int64_t, 2>{32, 2}, {1, 1}, {3, 5}, {7, 1000}, {2, 4099}})
      t.push_back(rows_case(op, N, K));
  return t;
}

// Every depthwise layer of torchvision's mobilenet_v2 at 224 (3x3, padding 1), one image: rows
// of their own because they are large (up to 32x112x112) - the emulated CUDA run takes them once,
// not again in the [sanitize] pass without the allocator's cache (tools/cudasim/check.sh), whose
// allocation checks the small rows exercise the same way.
std::vector<OpCase> mobilenet_v2_depthwise_rows() {
  std::vector<OpCase> t;
  for (auto [C, H, stride] : {std::array<int64_t, 3>{32, 112, 1},
                              {96, 112, 2},
                              {144, 56, 1},
                              {144, 56, 2},
                              {192, 28, 1},
                              {192, 28, 2},
                              {384, 14, 1},
                              {576, 14, 1},
                              {576, 14, 2},
                              {960, 7, 1}})
    t.push_back(conv_case(1, C, H, H, C, 3, stride, 1, false, C));
  return t;
}

void run_rows(const std::vector<OpCase>& rows, OpBackend backend, uint64_t seed) {
  Rng rng(seed);
  int ran = 0;
  for (const OpCase& c : rows) {
    if (backend == OpBackend::Cudnn && !c.has_cudnn()) continue;  // the native kernel: run under CudaNative
    check_op_case(c, backend, rng);
    ++ran;
  }
  CHECK(ran >= 10);  // the loop really ran (the table has 79 rows + 10 depthwise, 37 with a cuDNN variant)
}

std::vector<OpCase> all_rows() {
  std::vector<OpCase> t = op_table();
  for (const OpCase& c : mobilenet_v2_depthwise_rows()) t.push_back(c);
  return t;
}

}  // namespace

TEST_CASE("op table: every op has rows, and every row describes itself", "[ops][optable]") {
  std::set<Op> seen;
  for (const OpCase& c : all_rows()) {
    seen.insert(c.op);
    CHECK(c.describe().rfind(to_string(c.op), 0) == 0);
  }
  CHECK(seen.size() == size_t(Op::CrossEntropy) + 1);  // a new Op without rows fails here
}

TEST_CASE("op table: the CPU fast path equals the double reference on every case", "[ops][optable]") {
  run_rows(all_rows(), OpBackend::CpuFast, 121);
}

TEST_CASE("op table: our CUDA kernels equal the double reference on every case", "[cuda][optable][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  CHECK(cuda::split_k_count(8, 3 * 3 * 3, 2 * 40 * 40) > 1);  // the last conv row covers the split-K weight gradient
  run_rows(op_table(), OpBackend::CudaNative, 122);
#endif
}

TEST_CASE("op table: our CUDA kernels equal the double reference on every MobileNetV2 depthwise layer",
          "[cuda][optable]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  run_rows(mobilenet_v2_depthwise_rows(), OpBackend::CudaNative, 124);
#endif
}

TEST_CASE("op table: cuDNN equals the double reference on every case it has", "[cuda][optable][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  run_rows(all_rows(), OpBackend::Cudnn, 123);
#endif
}
