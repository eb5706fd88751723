// The host allocator: alignment, reuse of large blocks, the cache limit.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

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

namespace {
// The VmFlags of the mapping that holds `p`, from /proc/self/smaps ("" if not found).
std::string vm_flags_at(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      inside = lo <= addr && addr < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}
}  // namespace

TEST_CASE("host allocator: blocks of 2 MiB and more are 2 MiB aligned and marked for huge pages", "[memory]") {
  host_cache_clear();
  const size_t big = (size_t(5) << 20) + 12345, small = size_t(1) << 20;
  void* p = host_alloc(big);
  void* q = host_alloc(small);
  CHECK(reinterpret_cast<uintptr_t>(p) % (size_t(2) << 20) == 0);
  static_cast<char*>(p)[big - 1] = 1;  // the whole block is usable
  // MADV_HUGEPAGE shows as "hg" in the mapping's flags (Linux); the small block is not marked.
  const std::string flags = vm_flags_at(p);
  INFO(flags);
  if (flags.empty())
    WARN("no /proc/self/smaps entry for the block: the huge-page flag is not checked here");
  else
    CHECK(flags.find(" hg") != std::string::npos);
  CHECK(vm_flags_at(q).find(" hg") == std::string::npos);
  host_free(p, big);
  host_free(q, small);
  host_cache_clear();
}
