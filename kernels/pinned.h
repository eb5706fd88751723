// pinned.h — page-locked host buffers, for the data loader's host -> GPU copies.
//
// A copy out of ordinary (pageable) memory is staged by the driver through its
// own pinned buffer, at a fraction of PCIe speed and blocking the host. A
// PinnedBuffer is page-locked, so the copy engine reads it directly and
// upload_async() returns at once. Pattern for a loader that double-buffers:
//
//   PinnedBuffer staging(bytes);           // once
//   ... decode a batch into staging.as<float>() ...
//   staging.upload_async(tensor.data());   // queued on the stream, in order with the kernels
//   ... before writing into staging again: staging.wait();
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace sn::cuda {

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);  // cudaHostAlloc; clear error on failure
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* get() const { return p_; }
  template <typename T> T* as() const { return static_cast<T*>(p_); }
  size_t bytes() const { return bytes_; }

  // Queue a copy of the first `bytes` (all by default) to device memory on the
  // current stream; the buffer must not be written until wait() returns.
  void upload_async(void* device_dst, size_t bytes = size_t(-1));
  // Block until the last upload_async() has read the buffer.
  void wait();

 private:
  void release();
  void* p_ = nullptr;
  size_t bytes_ = 0;
  cudaEvent_t done_ = nullptr;  // recorded after the last upload
};

}  // namespace sn::cuda
