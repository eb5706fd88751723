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
#include <cstdint>
#include <mutex>

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
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
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

// Host -> device copies through two PinnedBuffers used in turn (grown as needed):
// upload() memcpys the caller's bytes into the next buffer, after that buffer's
// previous copy has finished, and queues its copy on the current stream. The
// caller's memory is free again when upload() returns, the host never waits for
// queued kernels, and the copy engine reads pinned memory at full speed. Two
// rings exist: the data loader's batches (engine/upload.h) and the cross-entropy
// labels (kernels/cross_entropy.cu). Thread-safe.
class StagingRing {
 public:
  void upload(void* device_dst, const void* host_src, size_t bytes);
  int64_t uploads() const;
  size_t buffer_bytes() const;  // the smaller of the two buffers

 private:
  mutable std::mutex mu_;
  PinnedBuffer buf_[2];
  int next_ = 0;
  int64_t uploads_ = 0;
};

}  // namespace sn::cuda
