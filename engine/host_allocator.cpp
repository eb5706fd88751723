#include "engine/host_allocator.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/check.h"

namespace sn {

namespace {
constexpr size_t kAlignment = 64;                // one cache line, one AVX-512 vector
constexpr size_t kMinCached = size_t(64) << 10;  // see host_allocator.h
constexpr size_t kHugePage = size_t(2) << 20;    // x86-64's transparent huge page

// Size class: the next of 4 steps per power of two (1, 1.25, 1.5, 1.75) x 2^k.
size_t size_class(size_t bytes) {
  size_t p = kMinCached;
  while (p * 2 <= bytes) p *= 2;
  const size_t quarter = p / 4;
  return (bytes + quarter - 1) / quarter * quarter;
}

size_t cache_limit() {
  static const size_t limit = [] {
    const char* env = std::getenv("SCRATCHNET_HOST_CACHE_MB");
    return size_t(env ? std::strtoull(env, nullptr, 10) : 4096) << 20;
  }();
  return limit;
}

struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  HostCacheStats stats;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors may be freed during static destruction
  return *c;
}

// Blocks of 2 MiB and more: mapped at a 2 MiB boundary and marked MADV_HUGEPAGE
// (see host_allocator.h). `bytes` is a size class: a multiple of 512 KiB, so of
// the page size; a tail shorter than 2 MiB simply gets small pages.
void* huge_alloc(size_t bytes) {
  const size_t span = bytes + kHugePage;  // room to slide the start to a 2 MiB boundary
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SN_CHECK(raw != MAP_FAILED, "out of host memory allocating ", bytes, " bytes (mmap: ", std::strerror(errno), ")");
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = aligned + bytes;
  if (start + span > end) munmap(reinterpret_cast<void*>(end), start + span - end);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint: where THP is off it fails, and small pages work as before
  return p;
}

void* system_alloc(size_t bytes) {
  if (bytes >= kHugePage) return huge_alloc(bytes);
  void* p = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  SN_CHECK(p != nullptr, "out of host memory allocating ", bytes, " bytes");
  return p;
}

void system_free(void* p, size_t bytes) {  // bytes: as given to system_alloc
  if (bytes >= kHugePage)
    munmap(p, bytes);
  else
    std::free(p);
}
}  // namespace

void* host_alloc(size_t bytes) {
  if (bytes < kMinCached) return system_alloc(bytes);
  const size_t cls = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(cls);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= cls;
      ++c.stats.hits;
      return p;
    }
    ++c.stats.misses;
  }
  return system_alloc(cls);
}

void host_free(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kMinCached) {
    std::free(p);
    return;
  }
  const size_t cls = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.stats.cached_bytes + cls <= cache_limit()) {
      c.free_blocks[cls].push_back(p);
      c.stats.cached_bytes += cls;
      return;
    }
  }
  system_free(p, cls);
}

HostCacheStats host_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void host_cache_clear() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [cls, blocks] : c.free_blocks)
    for (void* p : blocks) system_free(p, cls);
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace sn
