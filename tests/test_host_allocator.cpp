// The host allocator: alignment, reuse of large blocks, the cache limit.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "engine/host_allocator.h"
#include "engine/tensor.h"
#include "tests/helpers.h"

using namespace sn;

TEST_CASE("host allocator: 64-byte aligned, small and large", "[memory]") {
  for (size_t bytes : {size_t(1), size_t(100), size_t(4096), size_t(3) << 20, (size_t(5) << 20) + 7}) {
    void* p = host_alloc(bytes);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    static_cast<char*>(p)[bytes - 1] = 1;  // the whole block is usable
    host_free(p, bytes);
  }
}

TEST_CASE("host allocator: a freed large block is handed out again for the same size class", "[memory]") {
  host_cache_clear();
  const size_t bytes = (size_t(6) << 20) + 123;
  void* a = host_alloc(bytes);
  host_free(a, bytes);
  CHECK(host_cache_stats().cached_bytes >= bytes);
  const size_t hits = host_cache_stats().hits;
  void* b = host_alloc(bytes - 100);  // same size class (7 MiB)
  CHECK(b == a);
  CHECK(host_cache_stats().hits == hits + 1);
  void* c = host_alloc(bytes * 3);  // another class: a fresh block
  CHECK(c != a);
  host_free(b, bytes - 100);
  host_free(c, bytes * 3);
  host_cache_clear();
  CHECK(host_cache_stats().cached_bytes == 0);
}

TEST_CASE("host allocator: a free block of up to twice the size serves a smaller request, and returns to its class",
          "[memory]") {
  host_cache_clear();
  const size_t big = size_t(12) << 20;  // class 12 MiB
  void* a = host_alloc(big);
  host_free(a, big);
  const size_t misses = host_cache_stats().misses;
  void* b = host_alloc(size_t(7) << 20);  // class 7 MiB: none free, the 12 MiB block is within 2x
  CHECK(b == a);
  CHECK(host_cache_stats().misses == misses);
  CHECK(host_cache_stats().cached_bytes == 0);
  static_cast<char*>(b)[big - 1] = 1;  // the whole 12 MiB are there
  host_free(b, size_t(7) << 20);
  CHECK(host_cache_stats().cached_bytes == big);  // cached as what it is
  void* c = host_alloc(big);                      // so a 12 MiB request finds it again
  CHECK(c == a);
  void* d = host_alloc(size_t(5) << 20);  // under half of 12 MiB: a fresh block even if one were free
  host_free(c, big);
  void* e = host_alloc(size_t(5) << 20);
  CHECK(e != a);
  host_free(d, size_t(5) << 20);
  host_free(e, size_t(5) << 20);
  host_cache_clear();  // unmaps each block with its own size (a wrong one would fail or leak)
  CHECK(host_cache_stats().cached_bytes == 0);
}

TEST_CASE("host allocator: tensors reuse the cached memory", "[memory]") {
  host_cache_clear();
  const float* first;
  {
    Tensor t = Tensor::zeros({4, 1 << 18});  // 4 MiB
    first = t.data();
  }
  Tensor u = Tensor::zeros({4, 1 << 18});
  CHECK(u.data() == first);
  CHECK(u.to_vector()[12345] == 0.f);  // reused memory is still initialised by the factory
}

TEST_CASE("host allocator: blocks of 2 MiB and more are resident from the start (populated)", "[memory]") {
  host_cache_clear();
  const size_t big = (size_t(5) << 20) + 12345;
  void* p = host_alloc(big);
  // mincore: which pages of the block are in memory, without touching them.
  const size_t page = size_t(sysconf(_SC_PAGESIZE)), pages = (big + page - 1) / page;
  std::vector<unsigned char> resident(pages, 0);
  REQUIRE(mincore(p, big, resident.data()) == 0);
  size_t in = 0;
  for (unsigned char r : resident) in += r & 1;
  CHECK(in == pages);
  static_cast<char*>(p)[big - 1] = 1;  // the whole block is usable
  host_free(p, big);
  host_cache_clear();
}
