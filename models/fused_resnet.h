// fused_resnet.h — a ResNet forward for frozen backbones (feature extraction,
// evaluation, training only the head), with each conv, its batch norm, the
// ReLU and the residual add done in as few passes over memory as possible.
//
// Two batch-norm modes:
//  - Folded (model.eval()): batch norm is an affine map per output channel,
//      bn(conv(x)) = conv(x) * g + (beta - mean * g),   g = gamma / sqrt(var + eps),
//    folded into the conv's weights (w * g) and a bias (models/fold_batch_norm.h). On the CPU the bias,
//    the ReLU and the residual add run in the conv kernel's last step, so a
//    Bottleneck is three convs and nothing else. Equals model.eval() forward
//    up to float rounding (~1e-6 relative).
//  - BatchStats (model.train() with a frozen backbone, the textbook's default):
//    each batch norm normalizes with the batch's own mean and variance and
//    updates the model's running statistics, as model.train() forward does.
//    Nothing can be folded; the conv runs unchanged, its statistics are
//    gathered, then scale, shift, residual and ReLU are applied in one pass.
//
// On the CPU everything between the stem and the global average pool stays in
// the blocked layout (engine/cpu/nchwc.h) with weights packed once here
// (engine/cpu/conv2d_nchwc.h): no layout change between layers. Folded, a large
// batch runs as chunks of a few images (about 24 MB for the largest activation:
// 7 images at 224x224): each layer's output is then still in the caches when
// the next layer reads it, and a batch of 32 needs a quarter of the activation
// memory (A/B against one pass: ResNet-18 b32 0.94x, ResNet-50 b32 0.96-0.99x;
// docs/PERFORMANCE.md).
// BatchStats cannot run the network chunk by chunk (a batch norm needs the
// whole batch's statistics), but it runs each conv chunk by chunk and applies
// each normalization to a chunk just before the next conv reads it
// (fused_resnet.cpp: Pending): equal to one pass, bit for bit. On a GPU the
// folded mode runs the plain ops (still no batch-norm pass).
//
// Precision BF16 (CPU with AVX512_BF16): every conv after the stem takes
// bfloat16 weights and activations and sums in float32 (conv2d_nchwc.h);
// batch norm (folded bias or statistics), ReLU and residual adds are float32,
// activations rounded to bfloat16 when stored. The stem and fc stay float32.
//
// Float32 3x3 stride-1 convs run as Winograd F(4x4,3x3) on maps of 14x14 and more,
// F(2x2,3x3) on 8x8 to 13x13 (cpu/conv2d_winograd.h)
// unless `algo` is Direct, F(2x2) everywhere with WinogradF2 (the tests and
// benchmarks compare them).
//
// A FusedResNet is a snapshot of the conv weights (and, folded, of the batch
// norm): it does not see later changes to them. BatchStats reads and updates
// the model's running statistics in place. It never records a graph.
#pragma once
#include <vector>

#include "engine/cpu/conv2d_nchwc.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "models/resnet.h"

namespace sn::models {

class FusedResNet {
 public:
  enum class BatchNorm { Folded, BatchStats };
  enum class Precision { F32, BF16 };
  explicit FusedResNet(const ResNet& model, BatchNorm mode = BatchNorm::Folded, Precision precision = Precision::F32,
                       cpu::nchwc::ConvAlgo algo = cpu::nchwc::ConvAlgo::Auto);

  Tensor forward(const Tensor& x) const;   // (N,3,H,W) -> logits (N, classes)
  Tensor features(const Tensor& x) const;  // (N,3,H,W) -> (N, num_features)
  BatchNorm mode() const { return mode_; }
  Precision precision() const { return precision_; }
  int64_t num_features() const { return blocks_.back().convs.back().packed.K; }

  // On the CPU a batch runs in chunks of this many images (H x W inputs): as
  // many as keep the largest activation within the chunk budget (kChunkBytes
  // unless set_chunk_bytes changed it).
  int64_t chunk_images(int64_t H, int64_t W) const;
  static constexpr int64_t kChunkBytes = int64_t(24) << 20;
  void set_chunk_bytes(int64_t bytes) { chunk_bytes_ = bytes; }  // tests: 1 = one image per chunk

 private:
  struct ConvBn {
    Tensor weight, bias;  // Folded on a GPU: (K,C,R,S), (K) for the plain ops; undefined on the CPU
    Conv2dParams params;
    cpu::nchwc::PackedConv packed;  // Folded: the folded conv; BatchStats: the conv alone
    // BatchStats: the batch norm's parameters, and its running statistics (shared with the model).
    Tensor bn_weight, bn_bias, running_mean, running_var;
    float eps = 1e-5f, momentum = 0.1f;
  };
  struct Block {
    std::vector<ConvBn> convs;  // 2 (BasicBlock) or 3 (Bottleneck)
    bool has_downsample = false;
    ConvBn downsample;
  };
  // A CPU activation in the blocked layout: (N, ceil(C/16), H, W, 16) float32
  // values, or with bf16 as many bfloat16 values in a float tensor of half the size.
  struct Blocked {
    Tensor data;
    int64_t C, H, W;
    bool bf16 = false;
  };
  static Blocked make_blocked(int64_t N, int64_t C, int64_t H, int64_t W, bool bf16);
  // y = [relu](bn(conv(x)) [+ residual]); Folded reuses the residual's memory for y.
  static Tensor conv_gpu(const Tensor& x, const ConvBn& c, bool relu, Tensor residual = Tensor());
  Tensor features_cpu(const Tensor& x) const;

  // What both CPU paths share, on images [n0, n0 + n) of a batch.
  struct Chunk {
    int64_t n0, n;
  };
  // x (N,3,H,W) zero-padded by the stem's padding: the stem's plain input.
  Blocked padded_input(const float* x, int64_t N, int64_t H, int64_t W) const;
  // The stem's output through the 3x3 stride-2 max pool into pooled (float32),
  // and with bf16 rounded into pooled16 (else null).
  static void max_pool_stem(const Blocked& stem, const Chunk& c, const Blocked& pooled, const Blocked* pooled16);
  // The last block's output averaged over its map: rows n0.. of out (N, C).
  static void average_pool(const Blocked& y, const Chunk& c, float* out);

  // Folded: y = [relu](conv(x) + bias [+ residual]), the residual's memory reused for y.
  Blocked conv(const Blocked& x, const ConvBn& c, bool relu, const Blocked* residual = nullptr) const;
  // Folded: x (n,3,H,W) -> out (n, num_features), n images at once.
  void features_folded(const float* x, int64_t n, int64_t H, int64_t W, float* out) const;

  // BatchStats (fused_resnet.cpp): a conv's raw output with its normalization still to apply.
  struct Pending;
  struct Moments;  // a batch norm's statistics, merged chunk by chunk
  void conv_raw(const Blocked& x, const ConvBn& c, const Chunk& chunk, const Blocked& raw, Moments& m) const;
  Pending normalization(const ConvBn& c, const Moments& m, const Blocked& raw, bool relu,
                        const Blocked& residual) const;
  // x (N,3,H,W) -> out (N, num_features), every conv run over the chunks in turn.
  void features_batch_stats(const float* x, int64_t N, int64_t H, int64_t W, const std::vector<Chunk>& chunks,
                            float* out) const;

  BatchNorm mode_;
  Precision precision_;
  ConvBn stem_;
  std::vector<Block> blocks_;
  Tensor fc_weight_, fc_bias_;
  int64_t chunk_bytes_ = kChunkBytes;
};

}  // namespace sn::models
