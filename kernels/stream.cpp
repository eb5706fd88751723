#include "kernels/stream.h"

#include <mutex>

#include "kernels/cuda_check.h"

namespace sn::cuda {

namespace {
constexpr int kMaxDevices = 64;
std::mutex g_mutex;
cudaStream_t g_streams[kMaxDevices] = {};
}  // namespace

int current_device() {
  int dev = 0;
  SN_CUDA_CHECK(cudaGetDevice(&dev));
  SN_CHECK(dev >= 0 && dev < kMaxDevices, "CUDA device index ", dev, " out of range (at most ", kMaxDevices, ")");
  return dev;
}

cudaStream_t current_stream() {
  const int dev = current_device();
  std::lock_guard<std::mutex> lock(g_mutex);
  // Never destroyed: destroying at exit could run after the CUDA runtime has shut down.
  if (!g_streams[dev]) SN_CUDA_CHECK(cudaStreamCreateWithFlags(&g_streams[dev], cudaStreamDefault));
  return g_streams[dev];
}

void synchronize() { SN_CUDA_CHECK(cudaStreamSynchronize(current_stream())); }

}  // namespace sn::cuda
