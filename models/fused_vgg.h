// fused_vgg.h — a VGG forward for frozen backbones (feature extraction,
// evaluation, predict, training only the head) on the CPU blocked layout, the
// VGG counterpart of models::FusedResNet (fused_resnet.h).
//
//   features.0          3x3 pad 1 conv on the padded plain image (pad_plain, plain_input)
//   features.2 .. .28   3x3 stride-1 pad-1 convs on the blocked layout (NCHW16c,
//                       engine/cpu/nchwc.h): Winograd F(4x4,3x3) (maps from 14x14) or
//                       F(2x2,3x3) (8x8 to 13x13) for float32 unless
//                       `algo` is Direct; bias and ReLU in the conv's last step
//   features.4 .. .30   2x2 stride-2 max pools on the blocked layout
//   avgpool             AdaptiveAvgPool2d((7,7)): nothing at all when the map is
//                       already 7x7 (224x224 input); otherwise the engine's
//                       adaptive_avg_pool2d on the plain layout (any input size)
//   flatten             PyTorch's (N, C*7*7) order: leave the blocked layout once (from_blocked)
//   classifier.0 .. .5  Linear + ReLU, Dropout, Linear + ReLU, Dropout: the
//                       two products through cpu::sgemm (cpu::linear_forward), each
//                       ReLU one in-place pass; dropout is the identity (inference)
//
// features() gives the 4096 features after classifier.5; the head is
// classifier.6 (Classifier::head_forward). Equals the model's eval forward up
// to float rounding: the convs sum in another order (Winograd's transforms add
// a small constant factor, ~1e-6 relative); pools, flatten and the linears are
// the plain path's own kernels.
//
// Inference only: VGG has no batch norm, so the one thing training mode changes
// in the feature stages is dropout (classifier.2 and .5). A snapshot in
// training mode (VGG::feature_snapshot(batch_stats = true)) therefore exists
// only when both dropout probabilities are 0; otherwise it is null and the
// plain stages run, dropout included.
//
// Precision BF16 (CPU with AVX512_BF16): every conv after features.0 takes
// bfloat16 weights and activations and sums in float32 (the direct kernel:
// Winograd is float32 only); bias and ReLU are float32, activations rounded to
// bfloat16 when stored. A conv followed by a max pool stores float32 (the pool
// is float32; rounding after the max equals the max of rounded values, rounding
// being monotonic). features.0 and the classifier stay float32.
//
// A FusedVGG is a snapshot: conv weights packed and linear weights copied once
// here; later changes to the model are not seen. CPU only (the model's
// weights are copied to the CPU); it never records a graph.
#pragma once
#include <vector>

#include "engine/cpu/conv2d_nchwc.h"
#include "engine/tensor.h"
#include "models/vgg.h"

namespace sn::models {

class FusedVGG {
 public:
  enum class Precision { F32, BF16 };
  explicit FusedVGG(const VGG& model, Precision precision = Precision::F32,
                    cpu::nchwc::ConvAlgo algo = cpu::nchwc::ConvAlgo::Auto);

  Tensor features(const Tensor& x) const;  // (N,3,H,W) CPU -> (N, hidden), the output of classifier.5
  Precision precision() const { return precision_; }

 private:
  // One step of `features`: a conv (its ReLU fused when one follows) or a max pool.
  struct Step {
    bool is_conv = false;
    cpu::nchwc::PackedConv conv;
    bool relu = false;
    int pool_kernel = 0, pool_stride = 0, pool_pad = 0;
  };
  struct Dense {
    Tensor weight, bias;  // (out,in), (out): CPU copies
    bool relu = false;
  };
  // A CPU activation in the blocked layout: (N, ceil(C/16), H, W, 16) float32
  // values, or with bf16 as many bfloat16 values in a float tensor of half the size.
  struct Blocked {
    Tensor data;
    int64_t C, H, W;
    bool bf16 = false;
  };
  static Blocked make_blocked(int64_t N, int64_t C, int64_t H, int64_t W, bool bf16);
  static Blocked convert(const Blocked& x, bool bf16);  // float32 <-> bfloat16 (or x itself)

  Precision precision_;
  std::vector<Step> steps_;  // steps_[0] is features.0 (plain input)
  int pool_h_ = 7, pool_w_ = 7;
  std::vector<Dense> dense_;  // classifier.0 and .3
};

}  // namespace sn::models
