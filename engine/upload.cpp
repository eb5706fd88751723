// upload.cpp — upload_batch (see upload.h): the device side is kernels/pinned.cpp.
#include "engine/upload.h"

#include "engine/check.h"

namespace sn {

Tensor upload_batch(const Tensor& cpu, Device device) {
  if (cpu.device() == device) return cpu;
  if (device == Device::CPU || cpu.device() != Device::CPU) return cpu.to(device);
  Tensor t = Tensor::empty(cpu.shape(), device);
  cuda::upload_staged(t.data(), cpu.data(), cpu.nbytes());
  return t;
}

}  // namespace sn
