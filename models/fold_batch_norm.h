// fold_batch_norm.h — a batch norm in inference mode folded into the convolution before it.
//
// In eval mode BatchNorm2d is an affine map per output channel k,
//   bn(z) = (z - mean) * g + beta,   g = gamma / sqrt(var + eps),
// so bn(conv(x)) is one convolution with weights w * g (every weight of
// output k scaled by its g) and bias beta + (b - mean) * g. Grouped and
// depthwise convolutions fold alike: the weight (K, C/groups, R, S) is still
// scaled per output channel. Used by the frozen-inference paths
// (models/fused_resnet.h, models/fused_mobilenet_v2.h).
#pragma once
#include "engine/nn/layers.h"
#include "engine/tensor.h"

namespace sn::models {

struct FoldedConv {
  Tensor weight, bias;  // (K, C/groups, R, S), (K), on the conv's device
};

// Computed in double from the module's current weights and running statistics
// and rounded once; the result is a copy (later changes to the modules are not seen).
FoldedConv fold_batch_norm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn);

}  // namespace sn::models
