#include "engine/memory_stats.h"

#include <algorithm>
#include <cstdio>
#include <sys/resource.h>
#include <unistd.h>

namespace sn {

int64_t peak_rss_bytes() {
  // Resident memory now first, then the kernel's high-water mark: other threads
  // (the loader's workers) can grow it in between, and the peak must never read
  // below a current value taken just before it.
  const int64_t now = current_rss_bytes();
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return std::max<int64_t>(now, static_cast<int64_t>(ru.ru_maxrss) * 1024);  // Linux reports kilobytes
}

int64_t current_rss_bytes() {
  // statm: total program size, then resident set size, both in pages.
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace sn
