#include "engine/memory_stats.h"

#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>

namespace sn {

RssSample rss_sample() {
  // Resident memory now first, then the kernel's high-water mark: other threads
  // (the loader's workers) can grow or shrink it in between, and the peak must
  // never read below the current value it is reported beside.
  RssSample s;
  s.current = current_rss_bytes();
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  s.peak = std::max<int64_t>(s.current, static_cast<int64_t>(ru.ru_maxrss) * 1024);  // Linux reports kilobytes
  return s;
}

int64_t peak_rss_bytes() { return rss_sample().peak; }

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
