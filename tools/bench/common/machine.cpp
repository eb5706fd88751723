#include "tools/bench/common/machine.h"

#include <algorithm>
#include <ctime>
#include <thread>
#ifdef __AVX512F__
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on _mm512_reduce_add_ps
// (a known false positive of their _mm512_undefined_ps idiom).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "engine/machine.h"
#include "tools/bench/common/timing.h"

namespace sn::bench {

MachineInfo collect_machine_info(int threads) {
  const sn::MachineInfo host = sn::machine_info();  // engine/machine.h
  MachineInfo m;
  m.cpu_model = host.cpu.empty() ? "unknown CPU" : host.cpu;
  if (!host.cpu_family.empty()) m.cpu_model += " (family " + host.cpu_family + ", model " + host.cpu_model + ")";
  m.logical_cpus = host.logical_cpus;
  m.threads = threads;
  m.simd = host.simd;
  m.compiler = host.compiler;
  m.scratchnet_version = "0.1.0";
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  m.date_utc = buf;
  m.hostname = host.hostname;
  return m;
}

nlohmann::json to_json(const MachineInfo& m) {
  return {{"cpu_model", m.cpu_model},
          {"logical_cpus", m.logical_cpus},
          {"threads", m.threads},
          {"simd", m.simd},
          {"compiler", m.compiler},
          {"scratchnet", m.scratchnet_version},
          {"other_versions", m.other_versions},
          {"date_utc", m.date_utc},
          {"hostname", m.hostname}};
}

// One thread's FMA loop; returns flops done. 16 independent accumulators:
// FMA latency (4 cycles) x 2 FMA pipes = 8 in flight is the minimum.
static double fma_loop(long iters, float* sink) {
#ifdef __AVX512F__
  constexpr int kAcc = 16, kLanes = 16;
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(1.f + 1e-7f * float(i));
  const __m512 b = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_ps(s, acc[i]);
  *sink = _mm512_reduce_add_ps(s);
#else
  // Portable version: the compiler vectorizes these independent lanes.
  constexpr int kAcc = 16, kLanes = 8;
  float acc[kAcc][kLanes];
  for (int i = 0; i < kAcc; ++i)
    for (int l = 0; l < kLanes; ++l) acc[i][l] = 1.f + 1e-7f * float(i);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < kAcc; ++i)
      for (int l = 0; l < kLanes; ++l) acc[i][l] = acc[i][l] * 0.9999999f + 1e-7f;
  float s = 0;
  for (int i = 0; i < kAcc; ++i)
    for (int l = 0; l < kLanes; ++l) s += acc[i][l];
  *sink = s;
#endif
  return double(iters) * kAcc * kLanes * 2;
}

// GFLOP/s of `threads` threads running the loop at once (total).
static double peak_trial(int threads, long iters) {
  float sinks[256] = {0};
  const double t0 = now_seconds();
  double flops = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : flops)
  flops += fma_loop(iters, &sinks[omp_get_thread_num() % 256]);
#else
  (void)threads;
  flops = fma_loop(iters, &sinks[0]);
#endif
  const double dt = now_seconds() - t0;
  volatile float keep = sinks[0];  // the result is used: the loop cannot be removed
  (void)keep;
  return flops / dt * 1e-9;
}

double measure_peak_cpu_time() {
  float sink = 0;
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    timespec t0{}, t1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    const double flops = fma_loop(2000000, &sink);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    best = std::max(best, flops / (double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec)) * 1e-9);
  }
  volatile float keep = sink;
  (void)keep;
  return best;
}

Peak measure_peak(int threads, double seconds_per_trial) {
  Peak p;
  p.threads = threads;
  // Size the loop from a short calibration run.
  const double g = peak_trial(1, 200000);
  const long iters = std::max(100000L, long(seconds_per_trial * g * 1e9 / (16.0 * 16 * 2)));
  for (int trial = 0; trial < 3; ++trial) {
    p.per_thread_gflops = std::max(p.per_thread_gflops, peak_trial(1, iters));
    p.all_threads_gflops = std::max(p.all_threads_gflops, peak_trial(threads, iters));
  }
  return p;
}

}  // namespace sn::bench
