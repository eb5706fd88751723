// allocator.cpp — size-class free lists over cudaMalloc (see allocator.h).
#include "kernels/allocator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/device.h"
#include "engine/memory_stats.h"
#include "kernels/cuda_check.h"
#include "kernels/stream.h"

namespace sn::cuda {

namespace {

struct Block {
  int device;
  size_t size;       // its size class
  size_t requested;  // what the caller asked for
};

struct DeviceState {
  std::map<size_t, std::vector<void*>> free_lists;  // size class -> cached blocks
  MemoryStats stats;
};

// SCRATCHNET_CUDA_NO_CACHE set to anything but "" or "0" turns the cache off.
bool no_cache_from_env() {
  const char* v = std::getenv("SCRATCHNET_CUDA_NO_CACHE");
  return v && *v && std::strcmp(v, "0") != 0;
}

struct Allocator {
  std::mutex mutex;
  std::map<int, DeviceState> devices;
  std::unordered_map<void*, Block> live;
  bool poison = false;
  bool cache = !no_cache_from_env();
};

// Never destroyed: tensors freed during static destruction still find it, and
// nothing calls cudaFree after the CUDA runtime has shut down.
Allocator& allocator() {
  static Allocator* a = new Allocator();
  return *a;
}

constexpr size_t kMiB = size_t(1) << 20;

double mib(size_t bytes) { return double(bytes) / double(kMiB); }

// Frees the cached blocks of one device. Caller holds the mutex.
void release_cached(int device, DeviceState& st) {
  int previous = -1;
  cudaGetDevice(&previous);
  if (previous != device) cudaSetDevice(device);
  for (auto& [size, blocks] : st.free_lists) {
    for (void* p : blocks) {
      cudaFree(p);  // synchronizes the device: pending kernels may still use the block
      st.stats.cached -= size;
      st.stats.reserved -= size;
    }
    blocks.clear();
  }
  st.free_lists.clear();
  if (previous != device) cudaSetDevice(previous);
}

}  // namespace

size_t size_class(size_t bytes) {
  constexpr size_t kMin = 512, kMaxStep = 2 * kMiB;
  if (bytes <= kMin) return kMin;
  // Four classes per power of two: round up to a multiple of a quarter of the
  // largest power of two not above `bytes` (at least 512 B, at most 2 MiB).
  size_t top = size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(bytes)));
  size_t step = top / 4;
  if (step < kMin) step = kMin;
  if (step > kMaxStep) step = kMaxStep;
  return (bytes + step - 1) / step * step;
}

namespace {
void* allocate_impl(size_t bytes, bool throw_on_oom) {
  SN_CHECK(cuda_available(), cuda_unavailable_reason());
  if (bytes == 0) return nullptr;
  const int device = current_device();
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  const size_t size = a.cache ? size_class(bytes) : bytes;  // no cache: exactly what was asked for
  DeviceState& st = a.devices[device];
  st.stats.allocations++;

  void* p = nullptr;
  auto it = a.cache ? st.free_lists.find(size) : st.free_lists.end();
  if (it != st.free_lists.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    st.stats.cached -= size;
    st.stats.cache_hits++;
  } else {
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it, then give the cache back to the driver and try once more
      release_cached(device, st);
      err = cudaMalloc(&p, size);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      if (!throw_on_oom) return nullptr;
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      SN_FAIL("CUDA out of memory on device ", device, ": tried to allocate ", mib(bytes), " MiB (", bytes,
              " bytes); tensors hold ", mib(st.stats.in_use), " MiB, the cache held ", mib(st.stats.cached),
              " MiB (released and retried), the device has ", mib(free_b), " MiB free of ", mib(total_b),
              " MiB. Lower the batch size (--batch-size) or the image size, or free other GPU processes.");
    }
    SN_CUDA_CHECK(err);
    st.stats.device_mallocs++;
    st.stats.reserved += size;
  }
  st.stats.in_use += size;
  st.stats.requested += bytes;
  if (st.stats.in_use > st.stats.peak_in_use) st.stats.peak_in_use = st.stats.in_use;
  a.live.emplace(p, Block{device, size, bytes});
  if (a.poison) SN_CUDA_CHECK(cudaMemsetAsync(p, 0xFF, size, current_stream()));  // 0xFFFFFFFF is a NaN
  return p;
}
}  // namespace

void* allocate(size_t bytes) { return allocate_impl(bytes, true); }
void* try_allocate(size_t bytes) { return allocate_impl(bytes, false); }

void deallocate(void* p) {
  if (!p) return;
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  auto it = a.live.find(p);
  if (it == a.live.end()) {
    // Runs in destructors: report, never throw.
    std::fprintf(stderr, "scratchnet: warning: freeing a CUDA pointer %p the allocator does not own\n", p);
    return;
  }
  const Block b = it->second;
  a.live.erase(it);
  DeviceState& st = a.devices[b.device];
  st.stats.in_use -= b.size;
  st.stats.requested -= b.requested;
  if (!a.cache) {
    // cudaFree waits for the device: no pending kernel still uses the block.
    int previous = -1;
    cudaGetDevice(&previous);
    if (previous != b.device) cudaSetDevice(b.device);
    const cudaError_t err = cudaFree(p);
    if (previous != b.device) cudaSetDevice(previous);
    if (err != cudaSuccess) {
      cudaGetLastError();
      std::fprintf(stderr, "scratchnet: warning: cudaFree(%p) failed: %s\n", p, cudaGetErrorString(err));
    }
    st.stats.reserved -= b.size;
    return;
  }
  st.stats.cached += b.size;
  // Later work on the same stream may reuse it at once: stream order keeps the
  // pending kernels that still read it ahead of whatever writes it next.
  st.free_lists[b.size].push_back(p);
}

MemoryStats memory_stats() {
  const int device = current_device();
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.devices[device].stats;
}

void reset_peak_memory_stats() {
  const int device = current_device();
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  MemoryStats& s = a.devices[device].stats;
  s.peak_in_use = s.in_use;
}

void empty_cache() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  for (auto& [device, st] : a.devices) release_cached(device, st);
}

void set_caching(bool on) {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  if (!on)
    for (auto& [device, st] : a.devices) release_cached(device, st);
  a.cache = on;
}

bool caching() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.cache;
}

void poison(void* p, size_t bytes) {
  if (bytes) SN_CUDA_CHECK(cudaMemsetAsync(p, 0xFF, bytes, current_stream()));
}

void set_poison_allocations(bool on) {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.poison = on;
}

}  // namespace sn::cuda

namespace sn {
// engine/memory_stats.h's view of the same numbers, for run reports.
bool device_memory_stats(DeviceMemoryStats* out) {
  if (!cuda_available()) return false;
  const cuda::MemoryStats s = cuda::memory_stats();
  out->in_use = static_cast<int64_t>(s.in_use);
  out->cached = static_cast<int64_t>(s.cached);
  out->peak_in_use = static_cast<int64_t>(s.peak_in_use);
  return true;
}
}  // namespace sn
