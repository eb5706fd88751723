// adaptive_pool.cuh — adaptive average pooling to any output size on the GPU
// (engine/cpu/adaptive_pool.h is the CPU side, with the bin formulas).
//
// x (N,C,H,W) -> y (N,C,P,Q), PyTorch's bins. Forward: one thread per output. Backward:
// one thread per input element, summing dy/size over the bins that hold it, in the
// same order as the CPU's fast path: no atomics, the same result every run.
#pragma once
#include <cstdint>

#include "engine/kernel_shapes.h"  // AdaptivePool2dShape

namespace sn::cuda {

void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const float* x, float* y);
void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const float* dy, float* dx);

}  // namespace sn::cuda
