// device.cpp — GPU discovery, device memory and copies: the CUDA side of engine/storage.h.
#include <cstdio>
#include <mutex>
#include <string>

#include "engine/storage.h"
#include "kernels/allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/stream.h"

namespace sn {

namespace cuda {
void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  int dev = -1;
  cudaGetDevice(&dev);
  cudaGetLastError();  // clear a sticky non-fatal error so the next call is not blamed
  detail::throw_error(file, line, nullptr,
                      detail::concat("CUDA error in ", call, " on device ", dev, ": ", cudaGetErrorName(err), " (",
                                     cudaGetErrorString(err), ")"));
}
}  // namespace cuda

// Probed once. A machine without a GPU or driver answers cudaErrorInsufficientDriver
// or cudaErrorNoDevice: that means "no GPU", reported through the reason string.
static std::once_flag g_probe_once;
static std::string g_reason;

static void probe() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    g_reason = std::string("no usable GPU: ") + cudaGetErrorString(err);
    cudaGetLastError();
  } else if (count == 0) {
    g_reason = "no CUDA device found";
  }
}

bool cuda_available() {
  std::call_once(g_probe_once, probe);
  return g_reason.empty();
}

std::string cuda_unavailable_reason() {
  std::call_once(g_probe_once, probe);
  return g_reason;
}

namespace cuda {

void* device_alloc(size_t bytes) { return allocate(bytes); }

void device_free(void* p, size_t) { deallocate(p); }

// All copies run on the stream, in order with the kernels. The host waits when
// it must: before reading device results (device -> host), and after a copy out
// of pinned host memory, which the DMA engine reads asynchronously (the caller
// may reuse that buffer as soon as we return). A copy out of pageable memory is
// staged by the driver before cudaMemcpyAsync returns, so it needs no wait.
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  cudaStream_t stream = current_stream();
  SN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream));
  bool wait = dst_device == Device::CPU;
  if (!wait && src_device == Device::CPU) {
    cudaPointerAttributes attr{};
    SN_CUDA_CHECK(cudaPointerGetAttributes(&attr, src));
    wait = attr.type == cudaMemoryTypeHost;  // pinned
  }
  if (wait) SN_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void fill_zero(void* p, size_t bytes) {
  if (bytes == 0) return;
  SN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, current_stream()));
}

}  // namespace cuda
}  // namespace sn
