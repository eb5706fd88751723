#include "kernels/pinned.h"

#include <algorithm>
#include <cstring>

#include "engine/device.h"
#include "engine/staging.h"
#include "kernels/cuda_check.h"
#include "kernels/stream.h"

namespace sn::cuda {

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
  SN_CHECK(cuda_available(), "pinned host memory needs CUDA: ", cuda_unavailable_reason());
  if (bytes == 0) return;
  cudaError_t err = cudaHostAlloc(&p_, bytes, cudaHostAllocDefault);
  if (err != cudaSuccess) {
    cudaGetLastError();
    SN_FAIL("cannot allocate ", bytes, " bytes of pinned host memory: ", cudaGetErrorString(err),
            " (lower the batch size or the number of loader buffers)");
  }
  SN_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
}

PinnedBuffer::~PinnedBuffer() { release(); }

void PinnedBuffer::release() {
  if (done_) {
    cudaEventSynchronize(done_);  // never free memory a pending copy still reads
    cudaEventDestroy(done_);
  }
  if (p_) cudaFreeHost(p_);
  p_ = nullptr, done_ = nullptr, bytes_ = 0;
}

PinnedBuffer::PinnedBuffer(PinnedBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_), done_(o.done_) {
  o.p_ = nullptr, o.bytes_ = 0, o.done_ = nullptr;
}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
  if (this != &o) {
    release();
    p_ = o.p_, bytes_ = o.bytes_, done_ = o.done_;
    o.p_ = nullptr, o.bytes_ = 0, o.done_ = nullptr;
  }
  return *this;
}

void PinnedBuffer::upload_async(void* device_dst, size_t bytes) {
  if (bytes == size_t(-1)) bytes = bytes_;
  SN_CHECK(bytes <= bytes_, "PinnedBuffer::upload_async: ", bytes, " bytes requested from a buffer of ", bytes_);
  if (bytes == 0) return;
  cudaStream_t stream = current_stream();
  SN_CUDA_CHECK(cudaMemcpyAsync(device_dst, p_, bytes, cudaMemcpyHostToDevice, stream));
  SN_CUDA_CHECK(cudaEventRecord(done_, stream));
}

void PinnedBuffer::wait() {
  if (done_) SN_CUDA_CHECK(cudaEventSynchronize(done_));
}

void StagingRing::upload(void* device_dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  PinnedBuffer& b = buf_[next_];
  next_ ^= 1;
  if (b.bytes() < bytes)
    b = PinnedBuffer(bytes);  // the old one waits for its copy before it is freed
  else
    b.wait();  // its previous copy has read it
  std::memcpy(b.get(), host_src, bytes);
  b.upload_async(device_dst, bytes);
  ++uploads_;
}

int64_t StagingRing::uploads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return uploads_;
}

size_t StagingRing::buffer_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::min(buf_[0].bytes(), buf_[1].bytes());
}

// The data loader's ring; never destroyed (no cudaFreeHost after the runtime has shut down).
static StagingRing& batch_ring() {
  static StagingRing* r = new StagingRing();
  return *r;
}

void upload_staged(void* device_dst, const void* host_src, size_t bytes) {
  batch_ring().upload(device_dst, host_src, bytes);
}

StagingStats staging_stats() {
  StagingStats s;
  s.uploads = batch_ring().uploads();
  s.buffer_bytes = batch_ring().buffer_bytes();
  return s;
}

}  // namespace sn::cuda
