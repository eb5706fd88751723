// bench/common/machine.h — what the numbers were measured on, and its peak.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace sn::bench {

// The engine's machine_info() (engine/machine.h) plus what a benchmark adds.
struct MachineInfo {
  std::string cpu_model;  // /proc/cpuinfo "model name" (family F, model M)
  int logical_cpus = 0;   // what the OS offers (std::thread::hardware_concurrency)
  int threads = 0;        // what both sides were told to use
  std::string simd;       // the widest vector ISA this binary was compiled for
  std::string compiler;
  std::string scratchnet_version;
  std::string other_versions;  // "LibTorch 1.13.0, oneDNN ..." filled by the caller
  std::string date_utc;        // ISO 8601
  std::string hostname;
};
MachineInfo collect_machine_info(int threads);
nlohmann::json to_json(const MachineInfo& m);

// The machine's measured float32 peak: a loop of independent fused multiply-
// adds on the widest vectors this binary was compiled for (AVX-512: 16 floats,
// 2 flops each), with enough independent accumulators (16) to cover the FMA
// latency on every pipe. Best of a few trials, in GFLOP/s.
struct Peak {
  double per_thread_gflops = 0;   // one thread alone
  double all_threads_gflops = 0;  // `threads` threads together (sum)
  int threads = 0;
};
Peak measure_peak(int threads, double seconds_per_trial = 0.15);
// One thread's peak in GFLOP per second of process CPU time: on a busy
// machine, the figure to compare CPU-time measurements (bench_nchwc --cpu-time) with.
double measure_peak_cpu_time();

}  // namespace sn::bench
