// kernel_shapes.h — the sizes of one op call, as every backend's kernels take them.
//
// The op (engine/ops/<op>.cpp) checks its tensors, fills one of these structs once
// and hands it to the CPU kernels (engine/cpu/), our CUDA kernels (kernels/*.cuh)
// and the cuDNN ones (kernels/cudnn_ops.h). Plain sizes, no tensors: a kernel
// header includes this file, never the autograd API (engine/ops.h, tensor.h).
#pragma once
#include <cstdint>

namespace sn {

// One conv2d call: x (N,C,H,W), w (K,C/groups,R,S), y (N,K,P,Q); square stride and padding.
// groups splits C and K into `groups` independent convolutions (input channels
// [g*C/groups, (g+1)*C/groups) feed output channels [g*K/groups, ...)); groups == C == K is
// depthwise. It comes last with a default, so the 11-size initializers stay dense convs.
struct Conv2dShape {
  int64_t N, C, H, W, K, R, S, stride, pad, P, Q;
  int64_t groups = 1;
};

// One max_pool2d call: x (N,C,H,W) -> y (N,C,P,Q).
struct Pool2dShape {
  int64_t N, C, H, W, kernel, stride, pad, P, Q;
};

// One adaptive_avg_pool2d call: x (N,C,H,W) -> y (N,C,P,Q); output row p averages
// input rows floor(p*H/P) .. ceil((p+1)*H/P) - 1 (PyTorch's bins; columns likewise).
struct AdaptivePool2dShape {
  int64_t N, C, H, W, P, Q;
};

// One batch_norm call: x (N,C,HW) seen per channel c over its N*HW values.
struct BatchNormShape {
  int64_t N, C, HW;
};

}  // namespace sn
