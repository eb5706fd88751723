#include "engine/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/check.h"
#include "engine/host_allocator.h"

namespace sn {

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (bytes == 0) return;
  if (device == Device::CPU) {
    data_ = host_alloc(bytes);  // 64-byte aligned; large blocks are reused (host_allocator.h)
  } else {
    data_ = cuda::device_alloc(bytes);
  }
}

Storage::~Storage() {
  if (!data_) return;
  if (device_ == Device::CPU)
    host_free(data_, bytes_);
  else
    cuda::device_free(data_, bytes_);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device == Device::CPU && src_device == Device::CPU)
    std::memcpy(dst, src, bytes);
  else
    cuda::copy(dst, dst_device, src, src_device, bytes);
}

std::string to_string(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  SN_FAIL("unknown device '", s, "' (expected cpu or cuda)");
}

}  // namespace sn
