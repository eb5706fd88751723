// bench_gemm — scratchnet's SGEMM alone (no LibTorch needed): GFLOP/s and the
// fraction of the measured FMA peak, for square and ResNet-shaped products.
//   bench_gemm [threads] [M N K ...]
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/cpu/gemm/gemm.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "tools/bench/common/machine.h"
#include "tools/bench/common/timing.h"

using namespace sn;
using namespace sn::bench;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
  set_num_threads(threads);
  std::vector<std::array<int64_t, 3>> shapes = {{1024, 1024, 1024}, {64, 3136, 576},   {64, 3136, 64},
                                                {256, 3136, 64},    {512, 49, 4608},   {128, 784, 1152},
                                                {2048, 49, 512},    {512, 1568, 4608}, {64, 100352, 576}};
  if (argc > 4) {
    shapes.clear();
    for (int i = 2; i + 2 < argc; i += 3)
      shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1]), std::atoll(argv[i + 2])});
  }
  const Peak peak = measure_peak(num_threads());
  std::printf("threads %d, peak %.1f GFLOP/s (one thread %.1f)\n", num_threads(), peak.all_threads_gflops,
              peak.per_thread_gflops);
  Rng rng(1);
  for (auto [M, N, K] : shapes) {
    std::vector<float> A(M * K), B(K * N), C(M * N);
    for (auto& v : A) v = float(rng.uniform(-1, 1));
    for (auto& v : B) v = float(rng.uniform(-1, 1));
    Side s{"sgemm", [&] { cpu::sgemm(false, false, M, N, K, A.data(), K, B.data(), N, 0.f, C.data(), N); }};
    s.run();
    TimingPlan plan;
    plan.budget_s = 1.0;
    const Stats st = time_interleaved({s}, plan)[0];
    const double gf = 2.0 * M * N * K / st.median * 1e-9;
    const double cpu_best = best_process_cpu_seconds(s);
    std::printf(
        "%6ld x %6ld x %5ld  %9.3f ms  %6.1f GFLOP/s  %4.0f%% of peak  (IQR %.0f%%, best %.1f, cpu-time %.1f GFLOP/s "
        "per thread)\n",
        long(M), long(N), long(K), st.median * 1e3, gf, 100 * gf / peak.all_threads_gflops, 100 * st.iqr_rel(),
        2.0 * M * N * K / st.min * 1e-9, 2.0 * M * N * K / cpu_best * 1e-9 / num_threads());
  }
}
