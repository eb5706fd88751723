// bench_conv_gemm — scratchnet's implicit-im2col GEMM convolution alone (no
// LibTorch): every ResNet-18/50 conv shape, GFLOP/s and fraction of the
// measured peak. For tuning the kernels; bench_libtorch does the comparison.
//   bench_conv_gemm [threads] [batch] [filter-substring]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/cpu/conv2d_forward.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "tools/bench/common/machine.h"
#include "tools/bench/common/timing.h"
#include "tools/bench/libtorch/resnet_shapes.h"

using namespace sn;
using namespace sn::bench;

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  const int64_t N = argc > 2 ? std::atoll(argv[2]) : 32;
  const char* filter = argc > 3 ? argv[3] : "";
  const Peak peak = measure_peak(num_threads());
  std::printf("threads %d, batch %ld, peak %.1f GFLOP/s\n", num_threads(), long(N), peak.all_threads_gflops);
  Rng rng(1);
  double total_flops = 0, total_time = 0, total_weighted = 0;
  for (const auto& c : resnet_conv_specs()) {
    if (!std::strstr(c.label().c_str(), filter)) continue;
    const Conv2dShape s{N, c.C, c.H, c.H, c.K, c.R, c.R, c.stride, c.pad, c.P(), c.P()};
    std::vector<float> x(size_t(N * s.C * s.H * s.W)), w(size_t(s.K * s.C * s.R * s.S)), y(size_t(N * s.K * s.P * s.Q));
    for (auto& v : x) v = float(rng.uniform(-1, 1));
    for (auto& v : w) v = float(rng.uniform(-1, 1));
    Side side{"conv", [&] { cpu::conv2d_forward_gemm(s, x.data(), w.data(), nullptr, y.data()); }};
    side.run();
    TimingPlan plan;
    plan.budget_s = 0.5;
    plan.min_rounds = 3;
    const Stats st = time_interleaved({side}, plan)[0];
    const double cpu_best = best_process_cpu_seconds(side);
    const double flops = 2.0 * N * s.K * s.P * s.Q * s.C * s.R * s.S;
    total_flops += flops * c.count50;
    total_time += st.min * c.count50;
    total_weighted += st.median * c.count50;
    std::printf("%-20s %9.3f ms  best %6.1f GFLOP/s (%3.0f%%)  median %6.1f  cpu-time %6.1f GFLOP/s  (x%d in r50)\n",
                c.label().c_str(), st.median * 1e3, flops / st.min * 1e-9,
                100 * flops / st.min * 1e-9 / peak.all_threads_gflops, flops / st.median * 1e-9,
                flops / cpu_best * 1e-9 / num_threads(), c.count50);
  }
  if (total_time > 0)
    std::printf("ResNet-50 convs: best %.1f ms (%.1f GFLOP/s), median %.1f ms\n", total_time * 1e3,
                total_flops / total_time * 1e-9, total_weighted * 1e3);
}
