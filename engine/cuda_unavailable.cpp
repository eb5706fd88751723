// cuda_unavailable.cpp — the CUDA hooks of a CPU-only build. Every entry
// point fails with one clear message instead of a link error or a crash.
#include "engine/check.h"
#include "engine/memory_stats.h"
#include "engine/staging.h"
#include "engine/storage.h"

namespace sn {

bool cuda_available() { return false; }
std::string cuda_unavailable_reason() {
  return "scratchnet was built without CUDA (configure with -DSCRATCHNET_CUDA=ON)";
}
bool device_memory_stats(DeviceMemoryStats*) { return false; }

namespace cuda {
void* device_alloc(size_t) { SN_FAIL(cuda_unavailable_reason()); }
void device_free(void*, size_t) {}
void copy(void*, Device, const void*, Device, size_t) { SN_FAIL(cuda_unavailable_reason()); }
void fill_zero(void*, size_t) { SN_FAIL(cuda_unavailable_reason()); }
void upload_staged(void*, const void*, size_t) { SN_FAIL(cuda_unavailable_reason()); }
StagingStats staging_stats() { return {}; }
}  // namespace cuda

}  // namespace sn
