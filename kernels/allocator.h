// allocator.h — the caching allocator behind every CUDA tensor.
//
// cudaMalloc and cudaFree are slow (cudaFree synchronizes the whole device), and
// a training step allocates and frees the same sizes again and again. So freed
// blocks are not returned to the driver: they go to a free list of their size
// class and the next request of that class reuses one. Requests are rounded up
// to a size class (at most 25% larger, never by more than 2 MiB) so that
// slightly different sizes share blocks. Reuse is safe without any sync because
// all GPU work runs in order on one stream per device (kernels/stream.h).
//
// Out of memory: the cached blocks are released and the cudaMalloc retried
// once; if that fails too, the error says how much was asked for, how much is
// in use and cached, and what to lower.
//
// No-cache mode (SCRATCHNET_CUDA_NO_CACHE=1 in the environment, or
// set_caching(false)): every request is its own cudaMalloc of exactly the bytes
// asked for, and deallocate() cudaFrees it at once. Slow (cudaFree synchronizes
// the device), but compute-sanitizer memcheck then sees every block as it is: a
// write past the requested end, or a use after free, is reported instead of
// landing in a size class's slack or in a cached block. tools/gpu-check.sh runs
// the sanitizers in this mode.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

namespace sn::cuda {

struct MemoryStats {
  size_t in_use = 0;            // bytes of live blocks (rounded to their size class; exact without the cache)
  size_t requested = 0;         // bytes the live allocations asked for
  size_t cached = 0;            // bytes in the free lists, kept for reuse
  size_t reserved = 0;          // in_use + cached: everything held from cudaMalloc
  size_t peak_in_use = 0;       // largest in_use since start or reset_peak_memory_stats()
  uint64_t allocations = 0;     // calls to allocate()
  uint64_t cache_hits = 0;      // of those, served from a free list
  uint64_t device_mallocs = 0;  // cudaMalloc calls
};

// Statistics of the current device.
MemoryStats memory_stats();
void reset_peak_memory_stats();
// Return every cached (free) block of every device to the driver.
void empty_cache();

// The size class a request of `bytes` is served from (exposed for tests).
size_t size_class(size_t bytes);

// Caching on (the default) or off (see above). Turning it off releases the
// cached blocks; blocks live at the switch are freed the new way when released.
void set_caching(bool on);
bool caching();

// Fill every block handed out with NaN bytes (0xFF): a kernel that forgets to
// write part of its output then shows NaN instead of stale data. For tests.
void set_poison_allocations(bool on);
// Fill `bytes` of device memory at p with 0xFF (NaN as float), on the stream. For tests.
void poison(void* p, size_t bytes);

// The allocator itself (engine/storage.h's device_alloc/device_free call these).
void* allocate(size_t bytes);
// The same, but nullptr when the device is out of memory (after releasing the
// cache and retrying) instead of throwing: for callers with a plan B (cuDNN
// workspaces: another algorithm). Other CUDA errors still throw.
void* try_allocate(size_t bytes);
void deallocate(void* p);  // nullptr is ignored; never throws (it runs in destructors)

// A block of device memory owned by a scope (workspaces, temporary buffers).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) : p_(bytes ? allocate(bytes) : nullptr), bytes_(bytes) {}
  // Out of memory leaves it empty (get() == nullptr, bytes() == 0) instead of throwing.
  DeviceBuffer(size_t bytes, std::nothrow_t) : p_(bytes ? try_allocate(bytes) : nullptr), bytes_(p_ ? bytes : 0) {}
  ~DeviceBuffer() { deallocate(p_); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      deallocate(p_);
      p_ = o.p_, bytes_ = o.bytes_;
      o.p_ = nullptr, o.bytes_ = 0;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return p_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace sn::cuda
