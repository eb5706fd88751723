// upload.h — input batches from the CPU to the GPU through page-locked memory.
//
//   Tensor x = upload_batch(batch.images, device);   // instead of batch.images.to(device)
//
// For Device::CUDA the values are copied (memcpy) into one of two page-locked
// (pinned) staging buffers, used in turn, and the copy to the GPU is queued on the
// stream; the host returns at once and the copy engine reads the buffer at full
// speed. A copy straight out of ordinary (pageable) memory is staged by the driver
// through its own small buffers, and the driver may first wait for everything
// already queued on the stream (CUDA's "API synchronization behavior"). A buffer
// is refilled only after its previous copy has finished, so the caller may reuse
// or free its tensor as soon as upload_batch returns. Same values as cpu.to(device).
#pragma once
#include "engine/staging.h"
#include "engine/tensor.h"

namespace sn {

Tensor upload_batch(const Tensor& cpu, Device device);

}  // namespace sn
