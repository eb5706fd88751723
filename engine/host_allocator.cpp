#include "engine/host_allocator.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/check.h"

namespace sn {

namespace {
constexpr size_t kAlignment = 64;                 // one cache line, one AVX-512 vector
constexpr size_t kMinCached = size_t(64) << 10;   // see host_allocator.h
constexpr size_t kPopulateMin = size_t(2) << 20;  // see populated_alloc

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
  // Blocks handed out for a smaller class than their own (see host_alloc):
  // their real class, which host_free must cache (and munmap) them as.
  std::unordered_map<void*, size_t> larger;
  HostCacheStats stats;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors may be freed during static destruction
  return *c;
}

// Blocks of 2 MiB and more: a mapping of their own, faulted in by one call
// (MAP_POPULATE) rather than one page fault at a time (see host_allocator.h).
void* populated_alloc(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  SN_CHECK(p != MAP_FAILED, "out of host memory allocating ", bytes, " bytes (mmap: ", std::strerror(errno), ")");
  return p;
}

void* system_alloc(size_t bytes) {
  if (bytes >= kPopulateMin) return populated_alloc(bytes);
  void* p = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  SN_CHECK(p != nullptr, "out of host memory allocating ", bytes, " bytes");
  return p;
}

void system_free(void* p, size_t bytes) {  // bytes: as given to system_alloc
  if (bytes >= kPopulateMin)
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
    // The smallest free block of this class or of one up to twice its size.
    // Why a larger one: a fresh block costs its first touch (the kernel
    // zeroes every page: ~1.5 s per GB here), while a batch's chunks of 7 and
    // 6 images, the last smaller batch and each layer's smaller maps all ask
    // for slightly different sizes; a free block of another class would sit
    // idle meanwhile. At most 2x, so little memory is held beyond the request.
    for (auto it = c.free_blocks.lower_bound(cls); it != c.free_blocks.end() && it->first <= 2 * cls; ++it) {
      if (it->second.empty()) continue;
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= it->first;
      if (it->first != cls) c.larger[p] = it->first;
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
  size_t cls = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (!c.larger.empty())
      if (auto it = c.larger.find(p); it != c.larger.end()) cls = it->second, c.larger.erase(it);
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
