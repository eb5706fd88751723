// storage.h — a block of device memory, shared by a tensor and its views.
//
// Storage owns bytes; Tensor adds shape, offset and autograd on top. The CPU
// allocator is 64-byte aligned (one cache line, one AVX-512 vector). The CUDA
// allocator (a caching allocator over cudaMalloc) lives in kernels/ and is
// reached through the functions declared at the bottom.
#pragma once
#include <cstddef>
#include <memory>

#include "engine/device.h"

namespace sn {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// Copy `bytes` between any two devices (host<->device, device<->device).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

// Device memory hooks, implemented in kernels/ (CUDA build) or in
// engine/cuda_unavailable.cpp (CPU-only build, where they throw).
namespace cuda {
void* device_alloc(size_t bytes);
void device_free(void* p, size_t bytes);
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void fill_zero(void* p, size_t bytes);
}  // namespace cuda

}  // namespace sn
