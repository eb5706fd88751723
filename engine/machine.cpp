#include "engine/machine.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "engine/device.h"
#include "engine/parallel.h"

namespace sn {

// The value of the first "key<sep>value" line of a /proc or /etc file.
static std::string field(const std::string& path, const std::string& key, char sep) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    auto pos = line.find(sep);
    if (pos == std::string::npos) continue;
    std::string v = line.substr(pos + 1);
    v.erase(0, v.find_first_not_of(" \t\""));
    while (!v.empty() && (v.back() == '"' || v.back() == ' ')) v.pop_back();
    return v;
  }
  return "";
}

MachineInfo machine_info() {
  MachineInfo m;
  m.cpu = field("/proc/cpuinfo", "model name", ':');
  m.cpu_family = field("/proc/cpuinfo", "cpu family", ':');
  m.cpu_model = field("/proc/cpuinfo", "model\t", ':');  // "model\t\t: 17", not "model name"
  m.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
  const std::string mem = field("/proc/meminfo", "MemTotal", ':');  // "8000000 kB"
  m.memory_gb = mem.empty() ? 0.0 : std::stod(mem) / (1024.0 * 1024.0);
  m.os = field("/etc/os-release", "PRETTY_NAME", '=');
#if defined(__clang__)
  m.compiler = std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  m.compiler = std::string("GCC ") + __VERSION__;
#endif
#if defined(__AVX512F__)
  m.simd = "AVX-512";
#elif defined(__AVX2__)
  m.simd = "AVX2";
#else
  m.simd = "SSE/scalar";
#endif
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) m.hostname = host;
  return m;
}

nlohmann::json machine_json() {
  const MachineInfo i = machine_info();
  nlohmann::json m;
  m["cpu"] = i.cpu;
  m["cores"] = i.logical_cpus;
  m["threads"] = num_threads();
  m["memory_gb"] = i.memory_gb;
  m["os"] = i.os;
  if (!i.compiler.empty()) m["compiler"] = i.compiler;
  m["cuda"] = cuda_available() ? std::string("available") : cuda_unavailable_reason();
  m["hostname"] = i.hostname;
  return m;
}

}  // namespace sn
