// memory_stats.h — how much memory this process uses, for run reports and tests.
//
// peak_rss_bytes(): the high-water mark of resident memory since the process
// started (getrusage's ru_maxrss); it never goes down, so a per-epoch series
// of it shows whether a run keeps growing. current_rss_bytes(): resident
// memory now (/proc/self/statm), which can go down when memory is freed.
// Device (GPU) memory is reported by the CUDA allocator, not here.
#pragma once
#include <cstdint>

namespace sn {

int64_t peak_rss_bytes();
int64_t current_rss_bytes();  // 0 where /proc is not available

}  // namespace sn
