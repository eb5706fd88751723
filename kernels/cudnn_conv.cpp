// cudnn_conv.cpp — convolution forward / backward-data / backward-filter through cuDNN's
// legacy cudnnConvolution* API (still shipped in cuDNN 9's libcudnn_cnn), with
// one algorithm choice cached per shape.
#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/backend_config.h"
#include "kernels/allocator.h"
#include "kernels/cudnn_ops.h"
#include "kernels/handles.h"
#include "kernels/stream.h"

namespace sn::cudnn {

namespace {

using cuda::ConvDesc;
using cuda::DeviceBuffer;
using cuda::FilterDesc;
using cuda::TensorDesc;

enum class Pass { Forward, BackwardData, BackwardFilter };

// Everything the choice depends on.
struct Key {
  Pass pass;
  int device;
  int64_t N, C, H, W, K, R, S, stride, pad;
  bool tf32, benchmark;
  bool operator<(const Key& o) const {
    return std::tie(pass, device, N, C, H, W, K, R, S, stride, pad, tf32, benchmark) <
           std::tie(o.pass, o.device, o.N, o.C, o.H, o.W, o.K, o.R, o.S, o.stride, o.pad, o.tf32, o.benchmark);
  }
};

struct Choice {
  int algo;                  // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
  cudnnMathType_t math;      // set on the descriptor before running
  size_t workspace;          // bytes
};

std::mutex g_mutex;
std::map<Key, Choice> g_cache;

constexpr size_t kMaxWorkspace = size_t(1) << 30;  // never pick an algorithm needing more than 1 GiB

// All the descriptors of one call.
struct Descs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  explicit Descs(const Conv2dShape& s, bool tf32)
      : x(int(s.N), int(s.C), int(s.H), int(s.W)),
        y(int(s.N), int(s.K), int(s.P), int(s.Q)),
        w(int(s.K), int(s.C), int(s.R), int(s.S)),
        conv(int(s.pad), int(s.stride), tf32) {}
};

void check_shape(const Conv2dShape& s) {
  for (int64_t v : {s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.P, s.Q})
    SN_CHECK(v >= 0 && v <= INT_MAX, "conv2d (cuDNN): size ", v, " does not fit cuDNN's int dimensions");
  SN_CHECK(s.N * s.C * s.H * s.W <= INT_MAX && s.N * s.K * s.P * s.Q <= INT_MAX,
           "conv2d (cuDNN): tensor over 2^31 elements; lower the batch size");
}

// Picks from a list of perf results (best first): the first usable one
// (status OK, workspace under the cap), preferring deterministic algorithms.
// With TF32 off, entries that report FMA math come first; the descriptor is
// then run with CUDNN_FMA_MATH, which restricts cuDNN to float32 FMA kernels.
template <typename Perf>
Choice pick(const std::vector<Perf>& perf, int count, bool tf32, const char* what) {
  const Perf* chosen = nullptr;
  // Preference order: (math ok, deterministic), (math ok), then any math when TF32 is off.
  for (int round = 0; round < 3 && !chosen; ++round) {
    for (int i = 0; i < count && !chosen; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxWorkspace) continue;
      const bool math_ok = tf32 || p.mathType == CUDNN_FMA_MATH;
      if (round == 0 && math_ok && p.determinism == CUDNN_DETERMINISTIC) chosen = &p;
      if (round == 1 && math_ok) chosen = &p;
      if (round == 2 && p.mathType != CUDNN_TENSOR_OP_MATH) chosen = &p;
    }
  }
  SN_CHECK(chosen, "conv2d (cuDNN): no usable ", what, " algorithm among ", count, " candidates");
  return Choice{int(chosen->algo), tf32 ? chosen->mathType : CUDNN_FMA_MATH, chosen->memory};
}

// The largest workspace among the candidates (capped): what FindEx may use.
template <typename Perf>
size_t max_workspace(const std::vector<Perf>& perf, int count) {
  size_t m = 0;
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxWorkspace && perf[i].memory > m)
      m = perf[i].memory;
  return m;
}

Key make_key(Pass pass, const Conv2dShape& s) {
  const BackendConfig& cfg = backend_config();
  return Key{pass, cuda::current_device(), s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, cfg.tf32,
             cfg.cudnn_benchmark};
}

bool lookup(const Key& key, Choice& out) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_cache.find(key);
  if (it == g_cache.end()) return false;
  out = it->second;
  return true;
}

void store(const Key& key, const Choice& c) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cache[key] = c;
}

}  // namespace

size_t conv_algorithm_cache_size() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_cache.size();
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  check_shape(s);
  if (s.N == 0) return;
  const BackendConfig& cfg = backend_config();
  cudnnHandle_t h = cuda::cudnn_handle();
  Descs d(s, cfg.tf32);
  const Key key = make_key(Pass::Forward, s);
  Choice c;
  if (!lookup(key, c)) {
    int max_count = 0, count = 0;
    SN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(max_count, 1));
    SN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), max_count,
                                                          &count, perf.data()));
    if (cfg.cudnn_benchmark) {
      DeviceBuffer ws(max_workspace(perf, count));
      SN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x.get(), x, d.w.get(), w, d.conv.get(), d.y.get(), y,
                                                            max_count, &count, perf.data(), ws.get(), ws.bytes()));
    }
    c = pick(perf, count, cfg.tf32, "forward");
    store(key, c);
  }
  SN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
  size_t bytes = 0;  // ask again for this algorithm and math type: the perf entry's figure is advisory
  SN_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                         cudnnConvolutionFwdAlgo_t(c.algo), &bytes));
  DeviceBuffer ws(std::max(bytes, c.workspace));
  const float one = 1.f, zero = 0.f;
  SN_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x.get(), x, d.w.get(), w, d.conv.get(),
                                         cudnnConvolutionFwdAlgo_t(c.algo), ws.get(), ws.bytes(), &zero, d.y.get(), y));
  if (bias) {
    TensorDesc b(1, int(s.K), 1, 1);
    SN_CUDNN_CHECK(cudnnAddTensor(h, &one, b.get(), bias, &one, d.y.get(), y));
  }
}

void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_shape(s);
  if (s.N == 0) return;
  const BackendConfig& cfg = backend_config();
  cudnnHandle_t h = cuda::cudnn_handle();
  Descs d(s, cfg.tf32);
  const Key key = make_key(Pass::BackwardData, s);
  Choice c;
  if (!lookup(key, c)) {
    int max_count = 0, count = 0;
    SN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(max_count, 1));
    SN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                               max_count, &count, perf.data()));
    if (cfg.cudnn_benchmark) {
      DeviceBuffer ws(max_workspace(perf, count));
      SN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w.get(), w, d.y.get(), dy, d.conv.get(),
                                                                 d.x.get(), dx, max_count, &count, perf.data(),
                                                                 ws.get(), ws.bytes()));
    }
    c = pick(perf, count, cfg.tf32, "backward-data");
    store(key, c);
  }
  SN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
  size_t bytes = 0;
  SN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                              cudnnConvolutionBwdDataAlgo_t(c.algo), &bytes));
  DeviceBuffer ws(std::max(bytes, c.workspace));
  const float one = 1.f, zero = 0.f;
  SN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w.get(), w, d.y.get(), dy, d.conv.get(),
                                              cudnnConvolutionBwdDataAlgo_t(c.algo), ws.get(), ws.bytes(), &zero,
                                              d.x.get(), dx));
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  check_shape(s);
  if (s.N == 0) {
    SN_CUDA_CHECK(cudaMemsetAsync(dw, 0, size_t(s.K * s.C * s.R * s.S) * sizeof(float), cuda::current_stream()));
    return;
  }
  const BackendConfig& cfg = backend_config();
  cudnnHandle_t h = cuda::cudnn_handle();
  Descs d(s, cfg.tf32);
  const Key key = make_key(Pass::BackwardFilter, s);
  Choice c;
  if (!lookup(key, c)) {
    int max_count = 0, count = 0;
    SN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(max_count, 1));
    SN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                                 max_count, &count, perf.data()));
    if (cfg.cudnn_benchmark) {
      DeviceBuffer ws(max_workspace(perf, count));
      SN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                                                   d.w.get(), dw, max_count, &count, perf.data(),
                                                                   ws.get(), ws.bytes()));
    }
    c = pick(perf, count, cfg.tf32, "backward-filter");
    store(key, c);
  }
  SN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
  size_t bytes = 0;
  SN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                                cudnnConvolutionBwdFilterAlgo_t(c.algo), &bytes));
  DeviceBuffer ws(std::max(bytes, c.workspace));
  const float one = 1.f, zero = 0.f;
  SN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                                cudnnConvolutionBwdFilterAlgo_t(c.algo), ws.get(), ws.bytes(), &zero,
                                                d.w.get(), dw));
}

}  // namespace sn::cudnn
