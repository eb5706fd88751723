// memory_stats.h — how much memory this process uses, for run reports and tests.
//
// peak_rss_bytes(): the high-water mark of resident memory since the process
// started (getrusage's ru_maxrss); it never goes down, so a per-epoch series
// of it shows whether a run keeps growing. current_rss_bytes(): resident
// memory now (/proc/self/statm), which can go down when memory is freed.
// device_memory_stats(): the GPU memory held by the CUDA caching allocator
// (kernels/allocator.h), so engine code can report it without depending on CUDA.
#pragma once
#include <cstdint>

namespace sn {

int64_t peak_rss_bytes();
int64_t current_rss_bytes();  // 0 where /proc is not available

// Both, read so that peak >= current always holds (for reports that print both).
struct RssSample {
  int64_t current = 0, peak = 0;
};
RssSample rss_sample();

struct DeviceMemoryStats {
  int64_t in_use = 0;       // bytes of live tensors
  int64_t cached = 0;       // bytes freed but kept for reuse (not returned to the driver)
  int64_t peak_in_use = 0;  // high-water mark of in_use
};
// False (and `out` untouched) in a CPU-only build or on a machine without a usable GPU.
bool device_memory_stats(DeviceMemoryStats* out);

}  // namespace sn
