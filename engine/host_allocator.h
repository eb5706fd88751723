// host_allocator.h — CPU tensor memory: 64-byte aligned, with a cache of large
// blocks.
//
// Why a cache: glibc serves blocks above 32 MB (and, by its dynamic threshold,
// often above 128 KB) with mmap and gives them back to the kernel on free. A
// ResNet-50 forward at batch 32 allocates gigabytes of activations, each
// 100 MB tensor freshly mapped, so every page is faulted in and zeroed by the
// kernel again on every forward: about a quarter of the forward's time on a
// 2-core machine. The same happens to the 800 KB activations of a single image
// (64 x 56 x 56) once glibc's heap has been trimmed after a large run, which
// slowed a batch-1 conv forward+backward measurably after a ResNet-50 batch-32
// forward in the same process (docs/PERFORMANCE.md). Blocks of at least 64 KiB are therefore kept on
// free (up to a total of SCRATCHNET_HOST_CACHE_MB, default 4096) and handed out
// again for a request of the same size class (sizes rounded up to 4 classes per
// doubling, so at most ~19% slack). Smaller blocks go straight to aligned_alloc.
//
// Why huge pages: blocks of 2 MiB and more (activations, tensors read from
// weight files, feature caches) are mapped 2 MiB-aligned with MADV_HUGEPAGE, so the
// kernel backs them with transparent huge pages where it allows them (Debian's
// default: "madvise"). A fresh process faults its first ~1 GB in (ResNet-50
// weights, their packed copies, batch-32 activations): ~250,000 4 KB faults,
// which on the paravirtualized VMs here cost ~1.5 s of system time in a 5 s
// `scratchnet eval`; with 2 MB pages the same memory takes ~500 faults.
// (The CPU convolutions' packed weights do not come from here: see
// tile::aligned_floats in cpu/conv2d_nchwc.cpp.)
#pragma once
#include <cstddef>

namespace sn {

void* host_alloc(size_t bytes);         // never null: throws sn::Error when out of memory
void host_free(void* p, size_t bytes);  // bytes as passed to host_alloc

struct HostCacheStats {
  size_t cached_bytes = 0;  // held in the cache, not in use
  size_t hits = 0, misses = 0;
};
HostCacheStats host_cache_stats();
void host_cache_clear();  // return every cached block to the system

}  // namespace sn
