// cuda_helpers.h — small utilities for the [cuda] tests (only in CUDA builds).
//
// Every [cuda] test starts with SN_REQUIRE_CUDA() (tests/helpers.h), then
// compares a GPU result with the CPU reference on random inputs. Outputs are
// poisoned first (every byte 0xFF, a NaN as float) so an element the kernel
// forgot to write shows up as NaN, which fails every comparison.
//
// Error metric: rel_l2_error(gpu, ref) = ||gpu - ref|| / ||ref|| with ref
// computed in double by the ref:: kernels. In float32 without TF32 each
// output's error is a few ulps times sqrt(terms summed), so rel_l2 < 1e-5 holds
// with a wide margin for the sizes used (a real indexing bug gives O(1)).
#pragma once
#if SCRATCHNET_CUDA
#include <vector>

#include "engine/tensor.h"
#include "kernels/allocator.h"
#include "kernels/stream.h"

namespace sn::test {

inline Tensor to_gpu(const std::vector<float>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, Device::CUDA);
}
inline Tensor to_gpu(const std::vector<double>& v) { return to_gpu(std::vector<float>(v.begin(), v.end())); }

// A device tensor of n floats, all NaN.
inline Tensor gpu_poisoned(int64_t n) {
  Tensor t = Tensor::empty({n}, Device::CUDA);
  cuda::poison(t.data(), t.nbytes());
  return t;
}

inline std::vector<float> to_host(const Tensor& t) { return t.to(Device::CPU).to_vector(); }

// A CPU tensor's values in double, for the ref:: kernels.
inline std::vector<double> doubles(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  return {v.begin(), v.end()};
}

// A copy of a CPU tensor on the GPU, as a leaf that requires grad.
inline Tensor gpu_leaf(const Tensor& cpu) {
  Tensor g = cpu.to(Device::CUDA);
  g.set_requires_grad(true);
  return g;
}

// Every new CUDA tensor starts as NaN for the rest of the test process (op-level
// tests: outputs the ops allocate are poisoned too).
inline void poison_all_allocations() { cuda::set_poison_allocations(true); }

}  // namespace sn::test
#endif
