// machine.h — a description of the machine the engine runs on, for run reports
// (tools/experiment) and benchmark output (tools/bench): timings mean little without it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace sn {

struct MachineInfo {
  std::string cpu;         // /proc/cpuinfo "model name" ("AMD EPYC ..."; often generic under a hypervisor)
  std::string cpu_family;  // its "cpu family" and "model" numbers (family 26 is Zen 5)
  std::string cpu_model;
  int logical_cpus = 0;  // what the OS offers (std::thread::hardware_concurrency)
  double memory_gb = 0;  // MemTotal
  std::string os;        // /etc/os-release PRETTY_NAME
  std::string compiler;  // "GCC 12.2.0"
  std::string simd;      // the widest vector ISA this library was compiled for
  std::string hostname;
};
MachineInfo machine_info();

// For a run's report: {"cpu": "AMD EPYC ...", "cores": 2, "threads": 2, "memory_gb": 7.8,
//  "os": "Debian GNU/Linux 12 (bookworm)", "compiler": "GCC 12.2.0",
//  "cuda": "available" | the reason it is not, "hostname": "..."}
nlohmann::json machine_json();

}  // namespace sn
