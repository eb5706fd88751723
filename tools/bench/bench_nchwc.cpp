// bench_nchwc — the blocked-layout direct convolution (engine/cpu/conv2d_nchwc.h)
// against the implicit-im2col GEMM convolution (engine/cpu/conv2d_forward.h) on
// every ResNet-18/50 conv shape, and the whole frozen backbone
// (models::FusedResNet) per network. A developer's micro-benchmark for the
// inference kernels; the comparison with other engines is tools/bench/peers.
//
//   bench_nchwc [--batch N] [--threads T] [--only SUBSTRING] [--models] [--convs] [--depthwise]
//
// Both conv sides get the same folded-conv work (bias + ReLU in the epilogue)
// and are checked against each other before timing (relative L2 < 1e-5).
// --depthwise: the blocked depthwise 3x3 kernel (cpu/conv2d_nchwc_depthwise.h) on
// every MobileNetV2 depthwise layer, checked against the reference, as a share
// of the memory bandwidth measured here (the kernel is memory-bound).
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_forward.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/cpu/conv2d_nchwc_depthwise.h"
#include "engine/cpu/nchwc.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "models/fused_resnet.h"
#include "models/resnet.h"
#include "tools/bench/common/machine.h"
#include "tools/bench/common/timing.h"

using namespace sn;
namespace nc = sn::cpu::nchwc;

namespace {
// (C, H, K, R, stride) of every distinct ResNet-18/50 conv at 224x224 (stem: C = 3).
const std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>> kShapes = {
    {3, 224, 64, 7, 2},     {64, 56, 64, 1, 1},    {64, 56, 64, 3, 1},    {64, 56, 128, 1, 2},   {64, 56, 128, 3, 2},
    {64, 56, 256, 1, 1},    {128, 56, 128, 3, 2},  {256, 56, 64, 1, 1},   {256, 56, 128, 1, 1},  {256, 56, 512, 1, 2},
    {128, 28, 128, 3, 1},   {128, 28, 256, 1, 2},  {128, 28, 256, 3, 2},  {128, 28, 512, 1, 1},  {256, 28, 256, 3, 2},
    {512, 28, 128, 1, 1},   {512, 28, 256, 1, 1},  {512, 28, 1024, 1, 2}, {256, 14, 256, 3, 1},  {256, 14, 512, 1, 2},
    {256, 14, 512, 3, 2},   {256, 14, 1024, 1, 1}, {512, 14, 512, 3, 2},  {1024, 14, 256, 1, 1}, {1024, 14, 512, 1, 1},
    {1024, 14, 2048, 1, 2}, {512, 7, 512, 3, 1},   {512, 7, 2048, 1, 1},  {2048, 7, 512, 1, 1}};

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i)
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), den += double(b[i]) * b[i];
  return std::sqrt(num / std::max(den, 1e-300));
}

// --cpu-time: the best of a few calls in process CPU time instead of
// interleaved wall-time medians: with --threads 1 immune to other processes'
// time slices, for comparing kernels while the machine is busy.
bool g_cpu_time = false;

std::vector<bench::Stats> time_sides(const std::vector<bench::Side>& sides, double budget_s) {
  if (!g_cpu_time) {
    bench::TimingPlan plan;
    plan.budget_s = budget_s;
    return bench::time_interleaved(sides, plan);
  }
  std::vector<bench::Stats> out;
  for (const auto& side : sides) {
    bench::Stats st;
    st.median = st.q1 = st.q3 = bench::best_process_cpu_seconds(side, 5) / num_threads();
    out.push_back(st);
  }
  return out;
}

void bench_convs(int64_t N, const std::string& only, double peak) {
  // nchwc: what FusedResNet runs (Winograd F(4x4) or F(2x2) for 3x3 stride 1 by map
  // size, else direct); direct and F(2x2): those alone, where they differ.
  std::printf("%-28s %10s %10s %10s %10s %7s %8s %6s\n", "conv", "gemm", "direct", "F(2x2)", "nchwc", "ratio",
              "GFLOP/s", "%peak");
  Rng rng(5);
  for (const auto& [C, H, K, R, stride] : kShapes) {
    const int64_t pad = R / 2, P = nc::out_size(H, R, stride, pad);
    char name[96];
    std::snprintf(name, sizeof name, "%ldx%ld %ld>%ld %ld s%ld b%ld", long(R), long(R), long(C), long(K), long(H),
                  long(stride), long(N));
    if (!only.empty() && std::string(name).find(only) == std::string::npos) continue;
    const Conv2dShape s{N, C, H, H, K, R, R, stride, pad, P, P};
    const Tensor x = Tensor::uniform({N, C, H, H}, rng, -1, 1), w = Tensor::uniform({K, C, R, R}, rng, -0.1f, 0.1f),
                 b = Tensor::uniform({K}, rng, -1, 1);
    const bool plain = C == 3;
    const int64_t Cb = nc::blocks(C), Kb = nc::blocks(K);
    Tensor xin = plain ? Tensor::empty({N, C, H + 2 * pad, H + 2 * pad}) : Tensor::empty({N * Cb * H * H * 16});
    if (plain)
      nc::pad_plain(x.data(), N, C, H, H, pad, xin.data());
    else
      nc::to_blocked(x.data(), N, C, H * H, xin.data());
    const nc::PackedConv pc = nc::pack_conv(w.data(), b.data(), K, C, R, R, stride, pad, plain);
    const nc::PackedConv pc_direct =
        nc::pack_conv(w.data(), b.data(), K, C, R, R, stride, pad, plain, false, nc::ConvAlgo::Direct);
    Tensor y_gemm = Tensor::empty({N, K, P, P}), y_blk = Tensor::empty({N * Kb * P * P * 16}),
           y_back = Tensor::empty({N, K, P, P});
    auto run_gemm = [&] { cpu::conv2d_forward_gemm(s, x.data(), w.data(), b.data(), y_gemm.data(), true); };
    auto run_blk = [&] { nc::conv2d(pc, N, H, H, xin.data(), y_blk.data(), nc::Activation::ReLU, false); };
    const nc::PackedConv pc_f2 =
        nc::pack_conv(w.data(), b.data(), K, C, R, R, stride, pad, plain, false, nc::ConvAlgo::WinogradF2);
    auto run_direct = [&] { nc::conv2d(pc_direct, N, H, H, xin.data(), y_blk.data(), nc::Activation::ReLU, false); };
    auto run_f2 = [&] { nc::conv2d(pc_f2, N, H, H, xin.data(), y_blk.data(), nc::Activation::ReLU, false); };
    run_gemm();
    double err = 0;
    for (const std::function<void()>& run :
         {std::function<void()>(run_blk), std::function<void()>(run_direct), std::function<void()>(run_f2)}) {
      run();
      nc::from_blocked(y_blk.data(), N, K, P * P, y_back.data());
      err = std::max(err, rel_l2(y_back.to_vector(), y_gemm.to_vector()));
    }
    if (!(err < 1e-5)) {
      std::printf("%-28s FAIL: relative L2 error %.2e\n", name, err);
      continue;
    }
    std::vector<bench::Side> sides = {{"gemm", run_gemm}, {"nchwc", run_blk}};
    if (pc.winograd) sides.push_back({"direct", run_direct}), sides.push_back({"F(2x2)", run_f2});
    const auto st = time_sides(sides, 1.5);
    const double gflop = 2.0 * N * K * P * P * C * R * R * 1e-9;
    char direct[32] = "-", f2[32] = "-";
    if (pc.winograd) std::snprintf(direct, sizeof direct, "%.3fms", st[2].median * 1e3);
    if (pc.winograd) std::snprintf(f2, sizeof f2, "%.3fms", st[3].median * 1e3);
    std::printf("%-28s %8.3fms %10s %10s %8.3fms %7.2f %8.0f %5.0f%%\n", name, st[0].median * 1e3, direct, f2,
                st[1].median * 1e3, st[1].median / st[0].median, gflop / st[1].median,
                100 * gflop / st[1].median / peak);
  }
}

// Bytes per second a parallel copy of a 256 MiB buffer moves (read + write, counted once each):
// the memory bandwidth a memory-bound kernel can hope for on these threads.
double copy_bandwidth() {
  const int64_t n = int64_t(64) << 20;  // floats
  const Tensor a = Tensor::full({n}, 1.f), b = Tensor::empty({n});
  auto run = [&] {
    parallel_for(0, n, int64_t(1) << 20,
                 [&](int64_t i0, int64_t i1) { std::copy(a.data() + i0, a.data() + i1, b.data() + i0); });
  };
  run();
  return 2.0 * n * 4 / time_sides({{"copy", run}}, 1.5)[0].median;
}

// Every depthwise layer of MobileNetV2 at 224x224: (C, input H = W, stride).
const std::vector<std::tuple<int64_t, int64_t, int64_t>> kDepthwise = {
    {32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1},
    {192, 28, 2}, {384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1}};

void bench_depthwise(int64_t N) {
  const double bw = copy_bandwidth();
  std::printf("memory bandwidth (parallel copy of 256 MiB, read + write): %.1f GB/s\n", bw * 1e-9);
  std::printf("%-24s %10s %9s %7s\n", "depthwise 3x3 + ReLU6", "time", "GB/s", "%copy");
  Rng rng(7);
  for (const auto& [C, H, stride] : kDepthwise) {
    const int64_t P = nc::out_size(H, 3, stride, 1), Cb = nc::blocks(C);
    const Tensor x = Tensor::uniform({N, C, H, H}, rng, -1, 1), w = Tensor::uniform({C, 1, 3, 3}, rng, -0.5f, 0.5f),
                 b = Tensor::uniform({C}, rng, -1, 1);
    Tensor xb = Tensor::empty({N * Cb * H * H * 16}), yb = Tensor::empty({N * Cb * P * P * 16}),
           y_back = Tensor::empty({N, C, P, P}), y_ref = Tensor::empty({N, C, P, P});
    nc::to_blocked(x.data(), N, C, H * H, xb.data());
    const nc::PackedDepthwise pd = nc::pack_depthwise(w.data(), b.data(), C, stride);
    auto run = [&] { nc::depthwise3x3(pd, N, H, H, xb.data(), yb.data(), nc::Activation::ReLU6); };
    run();
    Conv2dShape s{N, C, H, H, C, 3, 3, stride, 1, P, P};
    s.groups = C;
    ref::conv2d_forward<float>(s, x.data(), w.data(), b.data(), y_ref.data());
    float* r = y_ref.data();
    for (int64_t i = 0; i < y_ref.numel(); ++i) r[i] = std::min(std::max(r[i], 0.f), 6.f);
    nc::from_blocked(yb.data(), N, C, P * P, y_back.data());
    char name[64];
    std::snprintf(name, sizeof name, "%ld %ldx%ld s%ld b%ld", long(C), long(H), long(H), long(stride), long(N));
    const double err = rel_l2(y_back.to_vector(), y_ref.to_vector());
    if (!(err < 1e-5)) {
      std::printf("%-24s FAIL: relative L2 error %.2e\n", name, err);
      continue;
    }
    const double t = time_sides({{"depthwise", run}}, 1.0)[0].median;
    const double bytes = 4.0 * double(N * Cb * 16) * double(H * H + P * P);  // x read once, y written once
    std::printf("%-24s %8.3fms %9.1f %6.0f%%\n", name, t * 1e3, bytes / t * 1e-9, 100 * bytes / t / bw);
  }
}

void bench_models(int64_t N, double peak, bool bf16, bool batch_stats, nc::ConvAlgo algo) {
  for (const std::string arch : {"resnet18", "resnet50"}) {
    Rng rng(6);
    models::ResNetConfig cfg;
    cfg.arch = arch;
    models::ResNet model(cfg, rng);
    model.train(batch_stats);
    const models::FusedResNet fused(
        model, batch_stats ? models::FusedResNet::BatchNorm::BatchStats : models::FusedResNet::BatchNorm::Folded,
        bf16 ? models::FusedResNet::Precision::BF16 : models::FusedResNet::Precision::F32, algo);
    const Tensor x = Tensor::uniform({N, 3, 224, 224}, rng, -1, 1);
    auto run = [&] { fused.forward(x); };
    run();
    const auto st = time_sides({{"fused", run}}, 6);
    const double gflop = 2.0 * N * (arch == "resnet18" ? 1.8142 : 4.0890);  // multiply-adds x 2 per image
    std::printf("%-10s b%-3ld %9.2f ms  (q1 %.2f, q3 %.2f)  %6.0f GFLOP/s  %4.0f%% of peak\n", arch.c_str(), long(N),
                st[0].median * 1e3, st[0].q1 * 1e3, st[0].q3 * 1e3, gflop / st[0].median,
                100 * gflop / st[0].median / peak);
  }
}
}  // namespace

int main(int argc, char** argv) {
  sn::adopt_thread_wait_policy(argv);  // as the scratchnet CLI does (engine/parallel.h)
  CLI::App app{"bench_nchwc: blocked direct convolution vs GEMM convolution, and the frozen backbone"};
  int64_t batch = 1;
  int threads = 0;
  std::string only;
  bool models = false, convs = false, bf16 = false, batch_stats = false, direct = false, f2 = false, depthwise = false;
  app.add_option("--batch", batch, "batch size");
  app.add_option("--threads", threads, "threads (default: all cores)");
  app.add_option("--only", only, "only conv shapes whose name contains this");
  app.add_flag("--models", models, "time the whole FusedResNet-18/50 forward");
  app.add_flag("--convs", convs, "time every ResNet conv shape");
  app.add_flag("--depthwise", depthwise,
               "time the depthwise kernel on every MobileNetV2 layer against memory bandwidth");
  app.add_flag("--batch-stats", batch_stats, "--models with training-mode batch norm (batch statistics)");
  app.add_flag("--direct", direct, "--models with the direct kernel for every conv (no Winograd)");
  app.add_flag("--winograd-f2", f2, "--models with Winograd F(2x2,3x3) only (no F(4x4,3x3))");
  app.add_flag("--bf16", bf16, "--models in bfloat16 (FLOP rates then count bf16 products)");
  app.add_flag("--cpu-time", g_cpu_time, "best-of-5 process CPU time per thread instead of wall-time medians");
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  const double peak =
      g_cpu_time ? bench::measure_peak_cpu_time() : bench::measure_peak(num_threads()).all_threads_gflops;
  std::printf("threads %d, batch %ld, measured fp32 FMA peak %.0f GFLOP/s\n", num_threads(), long(batch), peak);
  if (depthwise) bench_depthwise(batch);
  if (convs || (!models && !depthwise)) bench_convs(batch, only, peak);
  const nc::ConvAlgo algo = direct ? nc::ConvAlgo::Direct : f2 ? nc::ConvAlgo::WinogradF2 : nc::ConvAlgo::Auto;
  if (models) bench_models(batch, peak, bf16, batch_stats, algo);
}
