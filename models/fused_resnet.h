// fused_resnet.h — an inference-only ResNet with batch norm folded into the
// convolutions, for frozen backbones (feature extraction, evaluation).
//
// In eval mode a batch norm after a conv is an affine map per output channel:
//   bn(conv(x)) = conv(x) * g + (beta - mean * g),   g = gamma / sqrt(var + eps)
// so it can be folded into the conv's weights (w * g) and a bias. On the CPU
// the bias, the ReLU and the residual add then run inside the GEMM's epilogue
// (engine/cpu/conv2d_fast.h), so a Bottleneck is three convs and nothing else:
// no batch-norm, ReLU or add passes over the activations. The result equals
// model.eval() forward up to float rounding (~1e-6 relative).
//
// A FusedResNet is a snapshot: it copies (folded) weights when built, and does
// not see later changes to the model. It never records a graph.
#pragma once
#include <vector>

#include "engine/cpu/conv2d_nchwc.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "models/resnet.h"

namespace sn::models {

class FusedResNet {
 public:
  explicit FusedResNet(const ResNet& model);

  Tensor forward(const Tensor& x) const;   // (N,3,H,W) -> logits (N, classes)
  Tensor features(const Tensor& x) const;  // (N,3,H,W) -> (N, num_features)

 private:
  struct FoldedConv {
    Tensor weight, bias;  // (K,C,R,S), (K): the plain ops (other devices)
    Conv2dParams params;
    cpu::nchwc::PackedConv packed;  // the same, packed for the CPU kernels
  };
  // A CPU activation in the blocked layout: data (N, ceil(C/16), H, W, 16).
  struct Blocked {
    Tensor data;
    int64_t C, H, W;
  };
  struct Block {
    std::vector<FoldedConv> convs;  // 2 (BasicBlock) or 3 (Bottleneck)
    bool has_downsample = false;
    FoldedConv downsample;
  };
  // y = [relu](conv(x) + bias [+ residual]); the residual's memory is reused for y.
  static Tensor conv(const Tensor& x, const FoldedConv& c, bool relu, Tensor residual = Tensor());
  static Blocked conv(const Blocked& x, const FoldedConv& c, bool relu, const Blocked* residual = nullptr);
  Tensor features_cpu(const Tensor& x) const;

  FoldedConv stem_;
  std::vector<Block> blocks_;
  Tensor fc_weight_, fc_bias_;
};

}  // namespace sn::models
