// fused_mobilenet_v2.h — a MobileNetV2 forward for frozen backbones (feature
// extraction, evaluation, training only the head) on the CPU, each conv with
// its batch norm and ReLU6 in one pass over memory, as models/fused_resnet.h
// does for ResNets.
//
// Batch norm in inference mode (model.eval()) is folded into the conv before
// it (models/fold_batch_norm.h): weights w * g and a bias. Everything between
// the stem and the global average pool stays in the blocked layout
// (engine/cpu/nchwc.h), weights packed once here:
//   features.0     3x3 stride 2 on the zero-padded plain image (the direct
//                  kernel's plain-input variant), + bias + ReLU6
//   features.1-17  InvertedResidual: expand 1x1 (+ bias + ReLU6, when the
//                  expansion is not 1), depthwise 3x3 (+ bias + ReLU6,
//                  engine/cpu/conv2d_nchwc_depthwise.h), project 1x1 (+ bias,
//                  no activation); with the residual (stride 1, channels
//                  unchanged) the project conv adds its result into the block
//                  input's memory, which nothing reads afterwards
//   features.18    1x1 to num_features + bias + ReLU6
//   global average pool -> (N, num_features); classifier.0 (dropout) is the
//                  identity in eval mode, so the head (classifier.1) follows.
// The 1x1 and stem convs are engine/cpu/conv2d_nchwc.h's direct kernel with
// the activation in its epilogue. Equals the model's eval forward up to float
// rounding (~1e-6 relative per layer; tests/test_fused_mobilenet_v2.cpp).
//
// Float32 and CPU only, folded batch norm only: MobileNetV2::feature_snapshot
// returns none for batch statistics (training-mode batch norm), bfloat16 or a
// model on a GPU, and the plain stages run there. A FusedMobileNetV2 is a
// snapshot of the weights and batch-norm statistics: later changes to the
// model are not seen. It never records a graph.
#pragma once
#include <vector>

#include "engine/cpu/conv2d_nchwc.h"
#include "engine/cpu/conv2d_nchwc_depthwise.h"
#include "engine/tensor.h"
#include "models/feature_extractor.h"
#include "models/mobilenet_v2.h"

namespace sn::models {

class FusedMobileNetV2 : public FeatureSnapshot {
 public:
  explicit FusedMobileNetV2(const MobileNetV2& model);  // the model's weights on the CPU

  Tensor features(const Tensor& x) const override;  // CPU (N,3,H,W) -> (N, num_features)

  // From this many images per thread, features() runs whole images per thread, up to
  // kImagesPerChunk at a time (see there).
  static constexpr int64_t kImagesPerThread = 2, kImagesPerChunk = 4;

 private:
  Tensor run(const Tensor& x) const;  // every layer over the whole batch x

  struct Block {
    bool expand = false;  // expansion ratio != 1
    cpu::nchwc::PackedConv expand_conv;
    cpu::nchwc::PackedDepthwise depthwise;
    cpu::nchwc::PackedConv project;
    bool residual = false;  // use_res_connect
  };
  // A CPU activation in the blocked layout: (N, ceil(C/16), H, W, 16) float32.
  struct Blocked {
    Tensor data;
    int64_t C, H, W;
  };
  static Blocked make_blocked(int64_t N, int64_t C, int64_t H, int64_t W);
  // y = act(conv(x) + bias [+ residual]); with a residual, y is written into its memory.
  static Blocked conv(const Blocked& x, const cpu::nchwc::PackedConv& pc, cpu::nchwc::Activation act,
                      const Blocked* residual = nullptr);

  cpu::nchwc::PackedConv stem_, last_;
  std::vector<Block> blocks_;
};

}  // namespace sn::models
