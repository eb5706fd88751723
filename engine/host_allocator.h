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
// doubling, so at most ~19% slack), or when none is free, of a class up to
// twice as large: a fresh process then faults in less memory (ResNet-50 batch
// 32: 110 MB of activation blocks instead of 192, first forward 0.72-0.75 s
// instead of 0.78-0.86). Smaller blocks go straight to aligned_alloc.
//
// Why populated: blocks of 2 MiB and more (activations, tensors read from
// weight files, feature caches) are mapped with MAP_POPULATE, which faults the
// whole block in with one call. A fresh process touches its first few hundred
// MB (ResNet-50 weights, batch-32 activations) once, and on the paravirtualized
// VMs here a page fault costs several microseconds: faulting 1 GB in page by
// page took ~3 s, populated ~1.5 s (the rest is the kernel zeroing fresh
// memory). Not transparent huge pages: a fresh process was no faster with them
// (the cached experiment, alternating runs), and with activations on 2 MB pages
// the steady-state forward ran 1.04x (ResNet-50 b32), 1.11x (b1) and 1.10x
// (ResNet-18 b32) slower, interleaved A/B on Zen 5 - probably as the strides of
// the blocked layout then meet the same cache sets, where 4 KB pages scatter
// them over physical memory (packed weights too: ResNet-50 b1 1.03x).
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
