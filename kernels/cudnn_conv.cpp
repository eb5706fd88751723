// cudnn_conv.cpp — convolution forward / backward-data / backward-filter through cuDNN's
// legacy cudnnConvolution* API (still shipped in cuDNN 9's libcudnn_cnn), with
// one algorithm choice cached per shape.
//
// The three passes differ only in their types and calls (the *Pass structs below);
// one search serves them all (run_pass): on a cache miss, the candidates (cuDNN's
// heuristics, or its timings with --cudnn-benchmark) are put in order of preference
// and tried one after another (kernels/try_in_order.h); the first that runs is
// cached. An algorithm that fails (NOT_SUPPORTED, EXECUTION_FAILED, a workspace the
// device cannot give) costs one attempt, not every later call of that shape.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include "engine/backend_config.h"
#include "kernels/allocator.h"
#include "kernels/cudnn_conv_order.h"
#include "kernels/cudnn_ops.h"
#include "kernels/handles.h"
#include "kernels/stream.h"
#include "kernels/try_in_order.h"

namespace sn::cudnn {

namespace {

using cuda::ConvDesc;
using cuda::DeviceBuffer;
using cuda::FilterDesc;
using cuda::TensorDesc;

enum class Pass { Forward, BackwardData, BackwardFilter };

// Everything the choice depends on. `align`: the largest power of two (up to 256)
// dividing the three data pointers; a view that starts mid-block gets its own choice,
// since some algorithms need aligned data.
struct Key {
  Pass pass;
  int device;
  int64_t N, C, H, W, K, R, S, stride, pad;
  bool tf32, benchmark;
  int align;
  int64_t groups;
  bool operator<(const Key& o) const {
    return std::tie(pass, device, N, C, H, W, K, R, S, stride, pad, tf32, benchmark, align, groups) <
           std::tie(o.pass, o.device, o.N, o.C, o.H, o.W, o.K, o.R, o.S, o.stride, o.pad, o.tf32, o.benchmark, o.align,
                    o.groups);
  }
};

using Choice = ConvChoice;

std::mutex g_mutex;
std::map<Key, Choice> g_cache;

constexpr size_t kMaxWorkspace = kMaxConvWorkspace;

// All the descriptors of one call.
struct Descs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  explicit Descs(const Conv2dShape& s, bool tf32)
      : x(int(s.N), int(s.C), int(s.H), int(s.W)),
        y(int(s.N), int(s.K), int(s.P), int(s.Q)),
        w(int(s.K), int(s.C / s.groups), int(s.R), int(s.S)),
        conv(int(s.pad), int(s.stride), tf32) {
    if (s.groups != 1) SN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv.get(), int(s.groups)));
  }
};

void check_shape(const Conv2dShape& s) {
  for (int64_t v : {s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.P, s.Q, s.groups})
    SN_CHECK(v >= 0 && v <= INT_MAX, "conv2d (cuDNN): size ", v, " does not fit cuDNN's int dimensions");
  SN_CHECK(s.N * s.C * s.H * s.W <= INT_MAX && s.N * s.K * s.P * s.Q <= INT_MAX,
           "conv2d (cuDNN): tensor over 2^31 elements; lower the batch size");
}

// ---- the three passes: the types and calls that differ ----------------------------------

struct ForwardPass {
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  using Algo = cudnnConvolutionFwdAlgo_t;
  static constexpr Pass kPass = Pass::Forward;
  static constexpr const char* kName = "forward";
  cudnnHandle_t h;
  const Descs& d;
  const float* x;
  const float* w;
  float* y;

  cudnnStatus_t max_count(int* n) const { return cudnnGetConvolutionForwardAlgorithmMaxCount(h, n); }
  cudnnStatus_t heuristics(int max, int* count, Perf* perf) const {
    return cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), max, count, perf);
  }
  cudnnStatus_t find(int max, int* count, Perf* perf, void* ws, size_t bytes) const {
    return cudnnFindConvolutionForwardAlgorithmEx(h, d.x.get(), x, d.w.get(), w, d.conv.get(), d.y.get(), y, max, count,
                                                  perf, ws, bytes);
  }
  cudnnStatus_t workspace_size(int algo, size_t* bytes) const {
    return cudnnGetConvolutionForwardWorkspaceSize(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), Algo(algo), bytes);
  }
  cudnnStatus_t run(int algo, void* ws, size_t bytes) const {
    const float one = 1.f, zero = 0.f;
    return cudnnConvolutionForward(h, &one, d.x.get(), x, d.w.get(), w, d.conv.get(), Algo(algo), ws, bytes, &zero,
                                   d.y.get(), y);
  }
  static const char* algo_name(int a) {
    static const char* const names[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                        "WINOGRAD",      "WINOGRAD_NONFUSED"};
    return a >= 0 && a < int(std::size(names)) ? names[a] : "UNKNOWN";
  }
  static bool approximate(int a) { return forward_algo_approximate(a); }
};

struct BackwardDataPass {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  static constexpr Pass kPass = Pass::BackwardData;
  static constexpr const char* kName = "backward-data";
  cudnnHandle_t h;
  const Descs& d;
  const float* dy;
  const float* w;
  float* dx;

  cudnnStatus_t max_count(int* n) const { return cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, n); }
  cudnnStatus_t heuristics(int max, int* count, Perf* perf) const {
    return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), max, count,
                                                       perf);
  }
  cudnnStatus_t find(int max, int* count, Perf* perf, void* ws, size_t bytes) const {
    return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w.get(), w, d.y.get(), dy, d.conv.get(), d.x.get(), dx, max,
                                                       count, perf, ws, bytes);
  }
  cudnnStatus_t workspace_size(int algo, size_t* bytes) const {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), Algo(algo),
                                                        bytes);
  }
  cudnnStatus_t run(int algo, void* ws, size_t bytes) const {
    const float one = 1.f, zero = 0.f;
    return cudnnConvolutionBackwardData(h, &one, d.w.get(), w, d.y.get(), dy, d.conv.get(), Algo(algo), ws, bytes,
                                        &zero, d.x.get(), dx);
  }
  static const char* algo_name(int a) {
    static const char* const names[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    return a >= 0 && a < int(std::size(names)) ? names[a] : "UNKNOWN";
  }
  static bool approximate(int a) { return backward_data_algo_approximate(a); }
};

struct BackwardFilterPass {
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  static constexpr Pass kPass = Pass::BackwardFilter;
  static constexpr const char* kName = "backward-filter";
  cudnnHandle_t h;
  const Descs& d;
  const float* x;
  const float* dy;
  float* dw;

  cudnnStatus_t max_count(int* n) const { return cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, n); }
  cudnnStatus_t heuristics(int max, int* count, Perf* perf) const {
    return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), max, count,
                                                         perf);
  }
  cudnnStatus_t find(int max, int* count, Perf* perf, void* ws, size_t bytes) const {
    return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x.get(), x, d.y.get(), dy, d.conv.get(), d.w.get(), dw,
                                                         max, count, perf, ws, bytes);
  }
  cudnnStatus_t workspace_size(int algo, size_t* bytes) const {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), Algo(algo),
                                                          bytes);
  }
  cudnnStatus_t run(int algo, void* ws, size_t bytes) const {
    const float one = 1.f, zero = 0.f;
    return cudnnConvolutionBackwardFilter(h, &one, d.x.get(), x, d.y.get(), dy, d.conv.get(), Algo(algo), ws, bytes,
                                          &zero, d.w.get(), dw);
  }
  static const char* algo_name(int a) {
    static const char* const names[] = {"ALGO_0",    "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                        "FFT_TILING"};
    return a >= 0 && a < int(std::size(names)) ? names[a] : "UNKNOWN";
  }
  static bool approximate(int a) { return backward_filter_algo_approximate(a); }
};

// ---- one search for all three -------------------------------------------------------------

// A status another algorithm may not meet: try the next one. Anything else
// (a bad parameter, a broken library or device) is thrown at once.
bool worth_another_candidate(cudnnStatus_t st) {
  const int category = CUDNN_STATUS_CATEGORY(int(st));
  return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_EXECUTION_FAILED ||
         st == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED ||
         st == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED || st == CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER;
}

std::string failed(cudnnStatus_t st, const char* call) {
  if (!worth_another_candidate(st)) cuda::throw_cudnn_error(st, call, __FILE__, __LINE__);
  return std::string(call) + ": " + cudnnGetErrorString(st);
}

double mib(size_t bytes) { return double(bytes) / double(1 << 20); }

// Runs one candidate: "" when it worked, else why not.
template <typename P>
std::string attempt(const P& p, const Choice& c) {
  cudnnStatus_t st = cudnnSetConvolutionMathType(p.d.conv.get(), c.math);
  if (st != CUDNN_STATUS_SUCCESS) return failed(st, "cudnnSetConvolutionMathType");
  size_t bytes = 0;  // ask again for this algorithm and math type: the perf entry's figure is advisory
  st = p.workspace_size(c.algo, &bytes);
  if (st != CUDNN_STATUS_SUCCESS) return failed(st, "workspace size");
  bytes = std::max(bytes, c.workspace);
  if (bytes > kMaxWorkspace) return detail::concat("needs a workspace of ", mib(bytes), " MiB, over the cap");
  DeviceBuffer ws(bytes, std::nothrow);
  if (bytes && !ws.get()) return detail::concat("workspace of ", mib(bytes), " MiB: out of device memory");
  st = p.run(c.algo, ws.get(), ws.bytes());
  if (st != CUDNN_STATUS_SUCCESS) return failed(st, "run");
  return "";
}

template <typename P>
std::vector<Choice> candidates(const P& p, bool tf32, bool benchmark) {
  int max_count = 0, count = 0;
  SN_CUDNN_CHECK(p.max_count(&max_count));
  std::vector<typename P::Perf> perf(std::max(max_count, 1));
  SN_CUDNN_CHECK(p.heuristics(max_count, &count, perf.data()));
  if (benchmark) {
    // Time them (FindEx runs each on the real data, with the largest workspace the
    // list asks for); if that cannot run, the heuristics' order stands.
    size_t largest = 0;
    for (int i = 0; i < count; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxWorkspace)
        largest = std::max(largest, perf[i].memory);
    DeviceBuffer ws(largest, std::nothrow);
    std::vector<typename P::Perf> timed(perf.size());
    int timed_count = 0;
    if (p.find(max_count, &timed_count, timed.data(), ws.get(), ws.get() ? ws.bytes() : 0) == CUDNN_STATUS_SUCCESS) {
      perf = std::move(timed);
      count = timed_count;
    } else {
      cudaGetLastError();
    }
  }
  return order_conv_candidates(perf.data(), count, tf32, P::approximate);
}

int alignment(const void* a, const void* b, const void* c) {
  const uintptr_t bits =
      reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b) | reinterpret_cast<uintptr_t>(c) | uintptr_t(256);
  return int(bits & (~bits + 1));  // the lowest set bit
}

std::string describe(const Conv2dShape& s) {
  return detail::concat("x (", s.N, ",", s.C, ",", s.H, ",", s.W, ") w (", s.K, ",", s.C / s.groups, ",", s.R, ",", s.S,
                        ") stride ", s.stride, " pad ", s.pad, s.groups != 1 ? " groups " : "",
                        s.groups != 1 ? std::to_string(s.groups) : std::string());
}

// The cached choice if there is one and it runs; else the search, whose winner is cached.
template <typename P>
void run_pass(const P& p, const Conv2dShape& s, const void* a, const void* b, const void* c) {
  const BackendConfig& cfg = backend_config();
  const Key key{P::kPass,
                cuda::current_device(),
                s.N,
                s.C,
                s.H,
                s.W,
                s.K,
                s.R,
                s.S,
                s.stride,
                s.pad,
                cfg.tf32,
                cfg.cudnn_benchmark,
                alignment(a, b, c),
                s.groups};
  Choice cached{-1, CUDNN_DEFAULT_MATH, 0};
  bool hit = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_cache.find(key);
    if (it != g_cache.end()) cached = it->second, hit = true;
  }
  std::string cached_failure;
  if (hit) {
    cached_failure = attempt(p, cached);
    if (cached_failure.empty()) return;
    std::lock_guard<std::mutex> lock(g_mutex);  // it worked before and not now: choose again, without it
    g_cache.erase(key);
  }
  std::vector<Choice> cands = candidates(p, cfg.tf32, cfg.cudnn_benchmark);
  if (hit)
    cands.erase(std::remove_if(cands.begin(), cands.end(),
                               [&](const Choice& c) { return c.algo == cached.algo && c.math == cached.math; }),
                cands.end());
  std::vector<std::string> failures;
  const size_t i = try_in_order(
      cands, [&](const Choice& c) { return attempt(p, c); }, &failures);
  if (i == cands.size()) {
    const std::string why =
        describe_failures(cands, failures, [](const Choice& c) { return std::string(P::algo_name(c.algo)); });
    SN_FAIL("conv2d (cuDNN): no ", P::kName, " algorithm ran for ", describe(s), ": ", why,
            hit ? detail::concat("; the cached ", P::algo_name(cached.algo), ": ", cached_failure) : std::string(),
            " (--conv native runs our own kernels instead)");
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cache[key] = cands[i];
}

}  // namespace

size_t conv_algorithm_cache_size() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_cache.size();
}

ConvAlgorithms conv_algorithms(const Conv2dShape& s) {
  const BackendConfig& cfg = backend_config();
  const int device = cuda::current_device();
  ConvAlgorithms out;
  std::lock_guard<std::mutex> lock(g_mutex);
  // The best-aligned entry of each pass (fresh tensors are 256-byte aligned): the map
  // orders by alignment last, so the last match wins.
  for (const auto& [k, c] : g_cache) {
    if (k.device != device || k.N != s.N || k.C != s.C || k.H != s.H || k.W != s.W || k.K != s.K || k.R != s.R ||
        k.S != s.S || k.stride != s.stride || k.pad != s.pad || k.tf32 != cfg.tf32 ||
        k.benchmark != cfg.cudnn_benchmark || k.groups != s.groups)
      continue;
    ConvAlgorithm a;
    a.chosen = true;
    a.tensor_ops = c.math != CUDNN_FMA_MATH;
    if (k.pass == Pass::Forward) {
      a.name = ForwardPass::algo_name(c.algo), a.approximate = ForwardPass::approximate(c.algo);
      out.forward = a;
    } else if (k.pass == Pass::BackwardData) {
      a.name = BackwardDataPass::algo_name(c.algo), a.approximate = BackwardDataPass::approximate(c.algo);
      out.backward_data = a;
    } else {
      a.name = BackwardFilterPass::algo_name(c.algo), a.approximate = BackwardFilterPass::approximate(c.algo);
      out.backward_filter = a;
    }
  }
  return out;
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  check_shape(s);
  if (s.N == 0) return;
  cudnnHandle_t h = cuda::cudnn_handle();
  Descs d(s, backend_config().tf32);
  run_pass(ForwardPass{h, d, x, w, y}, s, x, w, y);
  if (bias) {
    const float one = 1.f;
    TensorDesc b(1, int(s.K), 1, 1);
    SN_CUDNN_CHECK(cudnnAddTensor(h, &one, b.get(), bias, &one, d.y.get(), y));
  }
}

void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_shape(s);
  if (s.N == 0) return;
  Descs d(s, backend_config().tf32);
  run_pass(BackwardDataPass{cuda::cudnn_handle(), d, dy, w, dx}, s, dy, w, dx);
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  check_shape(s);
  if (s.N == 0) {
    SN_CUDA_CHECK(
        cudaMemsetAsync(dw, 0, size_t(s.K * (s.C / s.groups) * s.R * s.S) * sizeof(float), cuda::current_stream()));
    return;
  }
  Descs d(s, backend_config().tf32);
  run_pass(BackwardFilterPass{cuda::cudnn_handle(), d, x, dy, dw}, s, x, dy, dw);
}

}  // namespace sn::cudnn
