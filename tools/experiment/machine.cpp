#include "tools/experiment/machine.h"

#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "engine/device.h"
#include "engine/parallel.h"

namespace sn::train {

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

nlohmann::json machine_info() {
  nlohmann::json m;
  m["cpu"] = field("/proc/cpuinfo", "model name", ':');
  m["cores"] = std::thread::hardware_concurrency();
  m["threads"] = num_threads();
  const std::string mem = field("/proc/meminfo", "MemTotal", ':');  // "8000000 kB"
  m["memory_gb"] = mem.empty() ? 0.0 : std::stod(mem) / (1024.0 * 1024.0);
  m["os"] = field("/etc/os-release", "PRETTY_NAME", '=');
#if defined(__clang__)
  m["compiler"] = std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  m["compiler"] = std::string("GCC ") + __VERSION__;
#endif
  m["cuda"] = cuda_available() ? std::string("available") : cuda_unavailable_reason();
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  m["hostname"] = host;
  return m;
}

}  // namespace sn::train
