// staging.h — the CUDA hook behind upload_batch (engine/upload.h): host -> device
// copies through page-locked staging buffers. Implemented in kernels/pinned.cpp;
// a CPU-only build throws (engine/cuda_unavailable.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sn::cuda {

void upload_staged(void* device_dst, const void* host_src, size_t bytes);

// For tests and logs: uploads so far, and the bytes of the smaller staging buffer.
struct StagingStats {
  int64_t uploads = 0;
  size_t buffer_bytes = 0;
};
StagingStats staging_stats();

}  // namespace sn::cuda
