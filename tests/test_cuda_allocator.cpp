// The caching allocator: size classes (host logic, runs everywhere), and on a
// GPU the statistics, reuse, release and the out-of-memory message.
#include "engine/check.h"
#include "tests/helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/allocator.h"
#include "kernels/stream.h"
#endif

using namespace sn;

#if SCRATCHNET_CUDA
TEST_CASE("allocator size classes: big enough, at most 25% (and 2 MiB) over, monotone", "[allocator]") {
  size_t previous = 0;
  for (size_t bytes = 1; bytes < (size_t(1) << 34); bytes = bytes * 3 / 2 + 1) {
    const size_t c = cuda::size_class(bytes);
    CHECK(c >= bytes);
    CHECK(c % 512 == 0);  // 512-byte aligned: every block can hold float4s
    CHECK(c - bytes <= std::max<size_t>(512, std::min<size_t>(bytes / 4, size_t(2) << 20)));
    CHECK(c >= previous);
    previous = c;
  }
  CHECK(cuda::size_class(1) == 512);
  CHECK(cuda::size_class(4096) == 4096);
  CHECK(cuda::size_class(4097) == 5120);
}
#endif

#if SCRATCHNET_CUDA
namespace {
// Sets the allocator's caching mode for one scope, then puts back the one it found.
struct CachingMode {
  bool saved;
  explicit CachingMode(bool on) : saved(cuda::caching()) { cuda::set_caching(on); }
  ~CachingMode() { cuda::set_caching(saved); }
};
size_t device_free_bytes() {
  size_t free_b = 0, total_b = 0;
  REQUIRE(cudaMemGetInfo(&free_b, &total_b) == cudaSuccess);
  return free_b;
}
}  // namespace
#endif

TEST_CASE("cuda allocator: stats, reuse from the cache, empty_cache, clear OOM", "[cuda][allocator]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  CachingMode caching(true);
  cuda::empty_cache();
  const cuda::MemoryStats s0 = cuda::memory_stats();
  const size_t bytes = 3 * 1000 * 1000;  // 3 MB: class 3 MiB (steps of 512 KiB between 2 and 4 MiB)
  const size_t cls = cuda::size_class(bytes);
  void* p = cuda::allocate(bytes);
  REQUIRE(p != nullptr);
  cuda::MemoryStats s1 = cuda::memory_stats();
  CHECK(s1.in_use == s0.in_use + cls);
  CHECK(s1.requested == s0.requested + bytes);
  CHECK(s1.peak_in_use >= s1.in_use);
  CHECK(s1.device_mallocs == s0.device_mallocs + 1);
  CHECK(reinterpret_cast<uintptr_t>(p) % 256 == 0);

  cuda::deallocate(p);
  cuda::MemoryStats s2 = cuda::memory_stats();
  CHECK(s2.in_use == s0.in_use);
  CHECK(s2.cached == s0.cached + cls);

  // Same size class again: served from the cache, no cudaMalloc, same block.
  void* q = cuda::allocate(bytes - 100);
  cuda::MemoryStats s3 = cuda::memory_stats();
  CHECK(q == p);
  CHECK(s3.device_mallocs == s2.device_mallocs);
  CHECK(s3.cache_hits == s2.cache_hits + 1);
  cuda::deallocate(q);

  cuda::empty_cache();
  CHECK(cuda::memory_stats().cached == 0);

  // Asking for far more than any GPU has: a clear error, and the allocator still works.
  try {
    cuda::allocate(size_t(1) << 50);
    FAIL("allocating 1 PiB should have failed");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("out of memory") != std::string::npos);
    CHECK(msg.find("batch size") != std::string::npos);
  }
  void* r = cuda::allocate(1024);
  CHECK(r != nullptr);
  cuda::deallocate(r);

  // Tensors go through it too.
  const size_t before = cuda::memory_stats().in_use;
  {
    Tensor t = Tensor::zeros({1000, 1000}, Device::CUDA);
    CHECK(cuda::memory_stats().in_use == before + cuda::size_class(4000000));
    CHECK(t.to_vector()[123456] == 0.f);
  }
  CHECK(cuda::memory_stats().in_use == before);
#endif
}

TEST_CASE("cuda allocator no-cache mode: exact-size cudaMalloc, cudaFree on release, stats",
          "[cuda][allocator][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  // The environment decides the mode a process starts in (tools/cudasim/check.sh runs this
  // test a second time with SCRATCHNET_CUDA_NO_CACHE=1, tools/gpu-check.sh the sanitizers).
  const char* env = std::getenv("SCRATCHNET_CUDA_NO_CACHE");
  const bool env_no_cache = env && *env && std::string(env) != "0";
  CHECK(cuda::caching() == !env_no_cache);

  const size_t bytes = (size_t(64) << 20) + 1000;  // 64 MiB + 1000: its size class would be 66 MiB
  const size_t slack = size_t(4) << 20;            // the driver's page granularity, on a real GPU
  {
    CachingMode mode(true);
    cuda::empty_cache();
    const size_t free0 = device_free_bytes();
    void* p = cuda::allocate(bytes);
    cuda::deallocate(p);
    CHECK(cuda::memory_stats().cached == cuda::size_class(bytes));
    CHECK(device_free_bytes() + bytes <= free0 + slack);  // the block stays with the cache
  }
  CachingMode mode(false);  // releases the cache
  CHECK(!cuda::caching());
  CHECK(cuda::memory_stats().cached == 0);

  const cuda::MemoryStats s0 = cuda::memory_stats();
  const size_t free0 = device_free_bytes();
  void* p = cuda::allocate(bytes);
  REQUIRE(p != nullptr);
  const cuda::MemoryStats s1 = cuda::memory_stats();
  CHECK(s1.in_use == s0.in_use + bytes);  // exact size, no size class
  CHECK(s1.requested == s0.requested + bytes);
  CHECK(s1.reserved == s0.reserved + bytes);
  CHECK(s1.device_mallocs == s0.device_mallocs + 1);
  CHECK(s1.peak_in_use >= s1.in_use);
  CHECK(reinterpret_cast<uintptr_t>(p) % 256 == 0);
  CHECK(device_free_bytes() + bytes <= free0 + slack);
  {
    // The block is usable: write it, read it back.
    Tensor t = Tensor::zeros({1000}, Device::CUDA);
    CHECK(cuda::memory_stats().in_use == s1.in_use + 4000);
    CHECK(t.to_vector()[999] == 0.f);
  }
  CHECK(cuda::memory_stats().in_use == s1.in_use);

  cuda::deallocate(p);
  const cuda::MemoryStats s2 = cuda::memory_stats();
  CHECK(s2.in_use == s0.in_use);
  CHECK(s2.requested == s0.requested);
  CHECK(s2.reserved == s0.reserved);  // given back to the driver...
  CHECK(s2.cached == 0);              // ...not kept
  CHECK(device_free_bytes() + slack >= free0);

  // The same size again: a new cudaMalloc, never a cache hit.
  void* q = cuda::allocate(bytes);
  const cuda::MemoryStats s3 = cuda::memory_stats();
  CHECK(s3.device_mallocs == s2.device_mallocs + 1);
  CHECK(s3.cache_hits == s2.cache_hits);
  cuda::deallocate(q);
  CHECK(cuda::memory_stats().cached == 0);

  // A block allocated with the cache on and released with it off is freed too.
  void* r = nullptr;
  {
    CachingMode on(true);
    r = cuda::allocate(4097);
  }
  const size_t reserved_before = cuda::memory_stats().reserved;
  cuda::deallocate(r);
  CHECK(cuda::memory_stats().reserved == reserved_before - cuda::size_class(4097));
  CHECK(cuda::memory_stats().cached == 0);
#endif
}
