// device.cpp — GPU discovery, device memory and copies: the CUDA side of engine/storage.h.
#include <cstdio>
#include <mutex>
#include <string>

#include "engine/storage.h"
#include "kernels/cuda_check.h"

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

void* device_alloc(size_t bytes) {
  SN_CHECK(cuda_available(), cuda_unavailable_reason());
  void* p = nullptr;
  SN_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void device_free(void* p, size_t) { cudaFree(p); }

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  cudaMemcpyKind kind = cudaMemcpyDefault;  // unified addressing: the runtime knows where each pointer lives
  (void)dst_device;
  (void)src_device;
  SN_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

void fill_zero(void* p, size_t bytes) { SN_CUDA_CHECK(cudaMemset(p, 0, bytes)); }

}  // namespace cuda
}  // namespace sn
