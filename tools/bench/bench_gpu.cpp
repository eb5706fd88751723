// bench_gpu — our CUDA kernels against NVIDIA's libraries, on the same GPU, in the same run.
//
//   bench_gpu [--quick] [--batch N] [--json FILE]
//
// 1. SGEMM, float32, TF32 off: kernels/gemm.cu vs cublasSgemm (CUBLAS_DEFAULT_MATH)
//    at 4096x4096x4096, row-major A*B (NN) and A*B^T (NT, the layout of linear's forward).
// 2. Every distinct convolution shape of ResNet-18 and ResNet-50 at 224x224, batch N
//    (default 32): our im2col + SGEMM convolution vs cuDNN (FMA math), forward,
//    backward-data and backward-filter.
// Each case first checks that both sides agree (rel L2 < 1e-4 for SGEMM and conv
// forward; a wrong answer gets no timing), then times them interleaved (ours,
// theirs, ours, ...) with CUDA events; before every timed call the L2 cache is
// flushed by writing a buffer four times its size, so no side runs from a warm
// cache. Reported: median time per call, TFLOP/s, ratio ours / theirs.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/device.h"

// Exit status when there is no GPU to measure: 77, CTest's and tools/gpu-check.sh's
// "skipped", so a script never mistakes "nothing measured" for a result.
constexpr int kExitNothingToMeasure = 77;

#if SCRATCHNET_CUDA && !SCRATCHNET_CUDASIM
#include "engine/backend_config.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "kernels/allocator.h"
#include "kernels/conv2d.cuh"
#include "kernels/cudnn_ops.h"
#include "kernels/gemm.cuh"
#include "kernels/handles.h"
#include "kernels/stream.h"
#include "tools/bench/cublas_peer.h"

namespace {

using namespace sn;

struct Buffer {  // random device data, uniform in [-1, 1)
  cuda::DeviceBuffer buf;
  size_t n = 0;
  Buffer(size_t count, Rng& rng) : buf(count * sizeof(float)), n(count) {
    std::vector<float> h(count);
    for (auto& v : h) v = static_cast<float>(rng.uniform(-1, 1));
    SN_CUDA_CHECK(cudaMemcpy(buf.get(), h.data(), count * sizeof(float), cudaMemcpyHostToDevice));
  }
  explicit Buffer(size_t count) : buf(count * sizeof(float)), n(count) { cuda::poison(buf.get(), buf.bytes()); }
  float* p() const { return buf.as<float>(); }
  std::vector<float> host() const {
    std::vector<float> h(n);
    cuda::synchronize();
    SN_CUDA_CHECK(cudaMemcpy(h.data(), buf.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
    return h;
  }
};

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  const double r = std::sqrt(num / std::max(den, 1e-300));
  return std::isnan(r) ? INFINITY : r;
}

// Writes a buffer of 4x the L2 size, so the next call starts with a cold cache.
struct L2Flush {
  cuda::DeviceBuffer buf;
  L2Flush() {
    int dev = cuda::current_device(), l2 = 0;
    SN_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    buf = cuda::DeviceBuffer(std::max<size_t>(size_t(l2) * 4, size_t(64) << 20));
  }
  void operator()() { SN_CUDA_CHECK(cudaMemsetAsync(buf.get(), 0, buf.bytes(), cuda::current_stream())); }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

// Times sides a and b interleaved, `reps` calls each after one warm-up; medians in ms.
template <typename A, typename B>
std::pair<double, double> time_pair(A&& a, B&& b, int reps, L2Flush& flush) {
  cuda::Event start, stop;
  std::vector<double> ta, tb;
  a();
  b();
  for (int r = 0; r < reps; ++r) {
    for (int side = 0; side < 2; ++side) {
      const bool first = (side == 0) == (r % 2 == 0);  // alternate which side goes first
      flush();
      start.record();
      if (first)
        a();
      else
        b();
      stop.record();
      (first ? ta : tb).push_back(cuda::Event::elapsed_ms(start, stop));
    }
  }
  return {median(ta), median(tb)};
}

void cublas_sgemm_rowmajor(bool tb, int M, int N, int K, const float* A, const float* B, float* C) {
  // Row-major C = A op(B) is column-major C^T = op(B)^T A^T: swap the operands.
  const float one = 1.f, zero = 0.f;
  SN_CUBLAS_CHECK(cublasSgemm(cuda::cublas_peer_handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B,
                              tb ? K : N, A, K, &zero, C, N));
}

struct ConvCase {
  const char* net;
  int C, H, K, R, stride, pad;
};

// Distinct conv shapes of torchvision's ResNet-18 and ResNet-50 (v1.5: stride on the 3x3) at 224x224.
const ConvCase kConvs[] = {
    {"r18+r50 conv1", 3, 224, 64, 7, 2, 3},
    {"r18 l1 3x3", 64, 56, 64, 3, 1, 1},
    {"r18 l2 3x3 s2", 64, 56, 128, 3, 2, 1},
    {"r18 l2 3x3", 128, 28, 128, 3, 1, 1},
    {"r18 l2 ds 1x1 s2", 64, 56, 128, 1, 2, 0},
    {"r18 l3 3x3 s2", 128, 28, 256, 3, 2, 1},
    {"r18+r50 l3 3x3", 256, 14, 256, 3, 1, 1},
    {"r18 l3 ds 1x1 s2", 128, 28, 256, 1, 2, 0},
    {"r18 l4 3x3 s2", 256, 14, 512, 3, 2, 1},
    {"r18+r50 l4 3x3", 512, 7, 512, 3, 1, 1},
    {"r18 l4 ds 1x1 s2", 256, 14, 512, 1, 2, 0},
    {"r50 l1 1x1 64>64", 64, 56, 64, 1, 1, 0},
    {"r50 l1 3x3", 64, 56, 64, 3, 1, 1},
    {"r50 l1 1x1 64>256 (+ds)", 64, 56, 256, 1, 1, 0},
    {"r50 l1 1x1 256>64", 256, 56, 64, 1, 1, 0},
    {"r50 l2 1x1 256>128", 256, 56, 128, 1, 1, 0},
    {"r50 l2 3x3 s2", 128, 56, 128, 3, 2, 1},
    {"r50 l2 1x1 128>512", 128, 28, 512, 1, 1, 0},
    {"r50 l2 ds 1x1 s2", 256, 56, 512, 1, 2, 0},
    {"r50 l2 1x1 512>128", 512, 28, 128, 1, 1, 0},
    {"r50 l2 3x3", 128, 28, 128, 3, 1, 1},
    {"r50 l3 1x1 512>256", 512, 28, 256, 1, 1, 0},
    {"r50 l3 3x3 s2", 256, 28, 256, 3, 2, 1},
    {"r50 l3 1x1 256>1024", 256, 14, 1024, 1, 1, 0},
    {"r50 l3 ds 1x1 s2", 512, 28, 1024, 1, 2, 0},
    {"r50 l3 1x1 1024>256", 1024, 14, 256, 1, 1, 0},
    {"r50 l4 1x1 1024>512", 1024, 14, 512, 1, 1, 0},
    {"r50 l4 3x3 s2", 512, 14, 512, 3, 2, 1},
    {"r50 l4 1x1 512>2048", 512, 7, 2048, 1, 1, 0},
    {"r50 l4 ds 1x1 s2", 1024, 14, 2048, 1, 2, 0},
    {"r50 l4 1x1 2048>512", 2048, 7, 512, 1, 1, 0},
};

int run(bool quick, int batch, const std::string& json_path) {
  backend_config().tf32 = false;
  backend_config().conv = ConvBackend::Cudnn;
  cudaDeviceProp prop{};
  SN_CUDA_CHECK(cudaGetDeviceProperties(&prop, cuda::current_device()));
  int cudnn_ver = int(cudnnGetVersion()), cublas_ver = 0;
  SN_CUBLAS_CHECK(cublasGetVersion(cuda::cublas_peer_handle(), &cublas_ver));
  std::printf("device: %s, %d SMs, L2 %d MB, cuDNN %d, cuBLAS %d\n", prop.name, prop.multiProcessorCount,
              prop.l2CacheSize >> 20, cudnn_ver, cublas_ver);
  nlohmann::json out;
  out["device"] = prop.name;
  out["sms"] = prop.multiProcessorCount;
  out["cudnn"] = cudnn_ver;
  out["cublas"] = cublas_ver;
  L2Flush flush;
  Rng rng(2024);
  const int reps = quick ? 5 : 15;

  // ---- SGEMM -------------------------------------------------------------------
  std::printf("\n%-28s %10s %10s %9s %9s %7s %9s\n", "sgemm 4096^3 (fp32, no TF32)", "ours ms", "cublas ms",
              "ours TF/s", "cublas TF/s", "ratio", "rel_l2");
  for (bool tb : {false, true}) {
    const int M = 4096, N = 4096, K = 4096;
    Buffer A(size_t(M) * K, rng), B(size_t(K) * N, rng), C1(size_t(M) * N), C2(size_t(M) * N);
    cuda::sgemm(false, tb, M, N, K, 1.f, A.p(), K, B.p(), tb ? K : N, 0.f, C1.p(), N);
    cublas_sgemm_rowmajor(tb, M, N, K, A.p(), B.p(), C2.p());
    const double err = rel_l2(C1.host(), C2.host());
    const char* name = tb ? "NT (A B^T)" : "NN (A B)";
    nlohmann::json row{{"case", name}, {"rel_l2", err}};
    if (!(err < 1e-4)) {
      std::printf("%-28s MISMATCH rel_l2 %.3g: not timed\n", name, err);
      row["error"] = "mismatch";
    } else {
      auto [t1, t2] =
          time_pair([&] { cuda::sgemm(false, tb, M, N, K, 1.f, A.p(), K, B.p(), tb ? K : N, 0.f, C1.p(), N); },
                    [&] { cublas_sgemm_rowmajor(tb, M, N, K, A.p(), B.p(), C2.p()); }, reps, flush);
      const double flops = 2.0 * M * N * K;
      std::printf("%-28s %10.3f %10.3f %9.2f %9.2f %6.1f%% %9.2e\n", name, t1, t2, flops / t1 / 1e9, flops / t2 / 1e9,
                  100.0 * t2 / t1, err);
      row.update({{"ours_ms", t1},
                  {"cublas_ms", t2},
                  {"ours_tflops", flops / t1 / 1e9},
                  {"cublas_tflops", flops / t2 / 1e9},
                  {"ours_vs_cublas_speed", t2 / t1}});
    }
    out["sgemm"].push_back(row);
  }

  // ---- convolutions ------------------------------------------------------------
  std::printf("\nconv, batch %d (ours = im2col + our SGEMM; ratio = cudnn time / ours time, >1: ours faster)\n", batch);
  std::printf("%-26s %-22s %9s %9s %6s %9s %9s %6s %9s %9s %6s %8s\n", "shape", "C,H->K RxR/s", "fwd ours", "cudnn",
              "ratio", "bwdD ours", "cudnn", "ratio", "bwdF ours", "cudnn", "ratio", "fwd err");
  const int conv_reps = quick ? 3 : 7;
  for (const ConvCase& cc : kConvs) {
    Conv2dShape s{batch, cc.C, cc.H, cc.H, cc.K, cc.R, cc.R, cc.stride, cc.pad, 0, 0};
    s.P = (s.H + 2 * s.pad - s.R) / s.stride + 1;
    s.Q = s.P;
    Buffer x(size_t(s.N * s.C * s.H * s.W), rng), w(size_t(s.K * s.C * s.R * s.S), rng),
        dy(size_t(s.N * s.K * s.P * s.Q), rng);
    Buffer y1(size_t(s.N * s.K * s.P * s.Q)), y2(y1.n), dx1(x.n), dx2(x.n), dw1(w.n), dw2(w.n);
    nlohmann::json row{{"case", cc.net}, {"N", s.N}, {"C", s.C},           {"H", s.H},
                       {"K", s.K},       {"R", s.R}, {"stride", s.stride}, {"pad", s.pad}};
    char dims[64];
    std::snprintf(dims, sizeof dims, "%d,%d->%d %dx%d/%d", cc.C, cc.H, cc.K, cc.R, cc.R, cc.stride);
    try {
      cuda::conv2d_forward(s, x.p(), w.p(), nullptr, y1.p());
      cudnn::conv2d_forward(s, x.p(), w.p(), nullptr, y2.p());
      cuda::conv2d_backward_input(s, dy.p(), w.p(), dx1.p());
      cudnn::conv2d_backward_input(s, dy.p(), w.p(), dx2.p());
      cuda::conv2d_backward_weight(s, x.p(), dy.p(), dw1.p());
      cudnn::conv2d_backward_weight(s, x.p(), dy.p(), dw2.p());
      const double ef = rel_l2(y1.host(), y2.host()), ed = rel_l2(dx1.host(), dx2.host()),
                   ew = rel_l2(dw1.host(), dw2.host());
      row.update({{"fwd_rel_l2", ef}, {"bwd_data_rel_l2", ed}, {"bwd_filter_rel_l2", ew}});
      if (!(ef < 1e-4 && ed < 1e-4 && ew < 1e-4)) {
        std::printf("%-26s %-22s MISMATCH fwd %.2e bwdD %.2e bwdF %.2e: not timed\n", cc.net, dims, ef, ed, ew);
        row["error"] = "mismatch";
        out["conv"].push_back(row);
        continue;
      }
      auto f = time_pair([&] { cuda::conv2d_forward(s, x.p(), w.p(), nullptr, y1.p()); },
                         [&] { cudnn::conv2d_forward(s, x.p(), w.p(), nullptr, y2.p()); }, conv_reps, flush);
      auto d = time_pair([&] { cuda::conv2d_backward_input(s, dy.p(), w.p(), dx1.p()); },
                         [&] { cudnn::conv2d_backward_input(s, dy.p(), w.p(), dx2.p()); }, conv_reps, flush);
      auto g = time_pair([&] { cuda::conv2d_backward_weight(s, x.p(), dy.p(), dw1.p()); },
                         [&] { cudnn::conv2d_backward_weight(s, x.p(), dy.p(), dw2.p()); }, conv_reps, flush);
      std::printf("%-26s %-22s %9.3f %9.3f %6.2f %9.3f %9.3f %6.2f %9.3f %9.3f %6.2f %8.1e\n", cc.net, dims, f.first,
                  f.second, f.second / f.first, d.first, d.second, d.second / d.first, g.first, g.second,
                  g.second / g.first, ef);
      row.update({{"fwd_ours_ms", f.first},
                  {"fwd_cudnn_ms", f.second},
                  {"bwd_data_ours_ms", d.first},
                  {"bwd_data_cudnn_ms", d.second},
                  {"bwd_filter_ours_ms", g.first},
                  {"bwd_filter_cudnn_ms", g.second},
                  {"flops_fwd", 2.0 * s.N * s.K * s.P * s.Q * s.C * s.R * s.S}});
    } catch (const std::exception& e) {
      std::printf("%-26s %-22s ERROR %s\n", cc.net, dims, e.what());
      row["error"] = e.what();
    }
    out["conv"].push_back(row);
  }
  const cuda::MemoryStats ms = cuda::memory_stats();
  std::printf("\nallocator: peak in use %.1f MiB, reserved %.1f MiB, %llu cudaMalloc calls for %llu allocations\n",
              ms.peak_in_use / 1048576.0, ms.reserved / 1048576.0, (unsigned long long)ms.device_mallocs,
              (unsigned long long)ms.allocations);
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << out.dump(1) << "\n";
  }
  return 0;
}

}  // namespace
#endif

int main(int argc, char** argv) {
  bool quick = false;
  int batch = 32;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (a == "--batch" && i + 1 < argc)
      batch = std::atoi(argv[++i]);
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_gpu [--quick] [--batch N] [--json FILE]\n");
      return 2;
    }
  }
#if SCRATCHNET_CUDA && !SCRATCHNET_CUDASIM
  if (!sn::cuda_available()) {
    std::printf("bench_gpu: no GPU here (%s): nothing to measure\n", sn::cuda_unavailable_reason().c_str());
    return kExitNothingToMeasure;
  }
  try {
    return run(quick, batch, json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu: error: %s\n", e.what());
    return 1;
  }
#else
  (void)quick, (void)batch;
  std::printf("bench_gpu: scratchnet was built without CUDA: nothing to measure\n");
  return kExitNothingToMeasure;
#endif
}
