#include "models/fused_resnet.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/nchwc.h"
#include "engine/parallel.h"
#include "models/fold_batch_norm.h"

namespace sn::models {

namespace {
template <typename T>
const T& as(const nn::Module* m, const std::string& what) {
  const T* t = dynamic_cast<const T*>(m);
  SN_CHECK(t != nullptr, "FusedResNet: ", what, " is missing or has an unexpected type");
  return *t;
}

// Image n of an activation (N, ...): float32, or bfloat16 packed in floats.
float* image(const Tensor& t, int64_t n) { return t.data() + n * (t.numel() / t.size(0)); }
}  // namespace

FusedResNet::FusedResNet(const ResNet& model, BatchNorm mode, Precision precision, cpu::nchwc::ConvAlgo algo)
    : mode_(mode), precision_(precision) {
  SN_USER_CHECK(precision == Precision::F32 || cpu::nchwc::bf16_supported(),
                "--precision bf16 needs a CPU with AVX512_BF16 (vdpbf16ps) and a scratchnet built for it "
                "(-march=native on such a CPU); this one has none: use --precision fp32");
  auto make = [&](const std::string& conv_name, const std::string& bn_name) {
    const auto& conv = as<nn::Conv2d>(model.submodule(conv_name), conv_name);
    const auto& bn = as<nn::BatchNorm2d>(model.submodule(bn_name), bn_name);
    ConvBn c;
    c.params = conv.params;
    Tensor w, b;  // what the CPU kernel computes: the folded conv, or the conv alone
    if (mode == BatchNorm::Folded) {
      const FoldedConv f = fold_batch_norm(conv, bn);
      // The plain ops' copy only where they run: on the CPU it would keep a second 100 MB
      // (ResNet-50) alive, while freed here the next conv's fold reuses its memory.
      if (f.weight.is_cuda()) c.weight = f.weight, c.bias = f.bias;
      w = f.weight.to(Device::CPU), b = f.bias.to(Device::CPU);
    } else {
      w = conv.weight.to(Device::CPU);
      b = conv.bias.defined() ? conv.bias.to(Device::CPU) : Tensor::zeros({w.size(0)});
      c.bn_weight = bn.weight, c.bn_bias = bn.bias, c.running_mean = bn.running_mean, c.running_var = bn.running_var;
      c.eps = bn.eps, c.momentum = bn.momentum;
      SN_CHECK(!bn.running_mean.is_cuda(), "FusedResNet: batch statistics mode runs on the CPU only");
    }
    // Only the stem reads the 3-channel image itself (plain layout).
    const bool plain = conv_name == "conv1";
    c.packed = cpu::nchwc::pack_conv(w.data(), b.data(), w.size(0), w.size(1), w.size(2), w.size(3), conv.params.stride,
                                     conv.params.padding, plain, !plain && precision == Precision::BF16, algo);
    return c;
  };
  // The structure first, then every conv folded and packed, several at once
  // (each conv on one thread): ResNet-50's 53 take ~0.3 s on one thread.
  struct Job {
    std::string conv, bn;
    int block, slot;  // block -1: the stem; slot -1: the block's downsample
  };
  std::vector<Job> jobs = {{"conv1", "bn1", -1, 0}};
  for (int layer = 1; layer <= 4; ++layer) {
    const std::string stage = "layer" + std::to_string(layer);
    for (int b = 0; model.submodule(stage + "." + std::to_string(b)); ++b) {
      const std::string pre = stage + "." + std::to_string(b) + ".";
      const int index = int(blocks_.size());
      Block& block = blocks_.emplace_back();
      for (int i = 1; i <= 3 && model.submodule(pre + "conv" + std::to_string(i)); ++i) {
        jobs.push_back({pre + "conv" + std::to_string(i), pre + "bn" + std::to_string(i), index, i - 1});
        block.convs.emplace_back();
      }
      if (model.submodule(pre + "downsample")) {
        jobs.push_back({pre + "downsample.0", pre + "downsample.1", index, -1});
        block.has_downsample = true;
      }
    }
  }
  std::exception_ptr failed;  // an exception must not leave an OpenMP region
  std::mutex failed_mu;
  // A model on a GPU folds there, on the caller's device: one thread (OpenMP's have their own current device).
  const int64_t n = int64_t(jobs.size());
  parallel_chunks(n, model.fc->weight.is_cuda() ? n : 1, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) try {
        const Job& job = jobs[size_t(j)];
        ConvBn& out = job.block < 0  ? stem_
                      : job.slot < 0 ? blocks_[size_t(job.block)].downsample
                                     : blocks_[size_t(job.block)].convs[size_t(job.slot)];
        out = make(job.conv, job.bn);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failed_mu);
        if (!failed) failed = std::current_exception();
      }
  });
  if (failed) std::rethrow_exception(failed);
  fc_weight_ = model.fc->weight.detach().clone();
  fc_bias_ = model.fc->bias.detach().clone();
}

Tensor FusedResNet::conv_gpu(const Tensor& x, const ConvBn& c, bool relu_after, Tensor residual) {
  Tensor y = sn::conv2d(x, c.weight, c.bias, c.params);
  if (residual.defined()) y = add(y, residual);
  return relu_after ? relu(y) : y;
}

FusedResNet::Blocked FusedResNet::make_blocked(int64_t N, int64_t C, int64_t H, int64_t W, bool bf16) {
  const int64_t Cb = cpu::nchwc::blocks(C);
  return {Tensor::empty({N, Cb, H, W, bf16 ? cpu::nchwc::kBlock / 2 : cpu::nchwc::kBlock}), C, H, W, bf16};
}

FusedResNet::Blocked FusedResNet::conv(const Blocked& x, const ConvBn& c, bool relu_after,
                                       const Blocked* residual) const {
  namespace nc = cpu::nchwc;
  const nc::PackedConv& pc = c.packed;
  SN_CHECK(x.C == pc.C && x.bf16 == pc.bf16, "FusedResNet: input of ", x.C, " channels for a conv of ", pc.C);
  const int64_t N = x.data.size(0), P = nc::out_size(x.H, pc.R, pc.stride, pc.pad),
                Q = nc::out_size(x.W, pc.S, pc.stride, pc.pad);
  if (residual)
    SN_CHECK(residual->C == pc.K && residual->H == P && residual->W == Q && residual->bf16 == pc.bf16,
             "FusedResNet: residual of ", residual->C, "x", residual->H, "x", residual->W,
             " does not match the conv output ", pc.K, "x", P, "x", Q);
  SN_CHECK(mode_ == BatchNorm::Folded, "FusedResNet::conv runs folded convs only");
  // The kernel adds its sum to the residual in place: add and ReLU cost nothing extra.
  Blocked y = residual ? *residual : make_blocked(N, pc.K, P, Q, pc.bf16);
  nc::conv2d(pc, N, x.H, x.W, x.data.data(), y.data.data(), relu_after ? nc::Activation::ReLU : nc::Activation::None,
             residual != nullptr, pc.bf16);
  return y;
}

// The largest activation is counted in the blocked layout. Measured on Zen 5
// (2 threads, ResNet-50, ms per image): 18.6 at 2-8 images per pass, 19.0 at
// 16, 20.8 at 32; budgets of 12, 24 and 48 MB within noise of each other.
int64_t FusedResNet::chunk_images(int64_t H, int64_t W) const {
  namespace nc = cpu::nchwc;
  auto bytes = [](const nc::PackedConv& pc, int64_t P, int64_t Q, bool bf16) {
    return nc::blocks(pc.K) * nc::kBlock * P * Q * (bf16 ? 2 : 4);
  };
  int64_t P = nc::out_size(H, stem_.packed.R, stem_.packed.stride, stem_.packed.pad),
          Q = nc::out_size(W, stem_.packed.S, stem_.packed.stride, stem_.packed.pad);
  int64_t largest = bytes(stem_.packed, P, Q, false);  // the stem's output is float32 in both precisions
  P = nc::out_size(P, 3, 2, 1), Q = nc::out_size(Q, 3, 2, 1);
  for (const Block& b : blocks_)
    for (const ConvBn& c : b.convs) {
      P = nc::out_size(P, c.packed.R, c.packed.stride, c.packed.pad);
      Q = nc::out_size(Q, c.packed.S, c.packed.stride, c.packed.pad);
      largest = std::max(largest, bytes(c.packed, P, Q, c.packed.bf16));
    }
  return std::max<int64_t>(1, chunk_bytes_ / std::max<int64_t>(largest, 1));
}

Tensor FusedResNet::features_cpu(const Tensor& x) const {
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3);
  Tensor f = Tensor::empty({N, num_features()});
  // Equal chunks (32 images at 7 per chunk: 7,7,6,6,6), so no chunk is a lone remainder.
  const int64_t chunk = chunk_images(H, W), pieces = (N + chunk - 1) / chunk;
  std::vector<Chunk> chunks;
  for (int64_t i = 0, n0 = 0; i < pieces; ++i) {
    const int64_t n = N / pieces + (i < N % pieces ? 1 : 0);
    chunks.push_back({n0, n});
    n0 += n;
  }
  if (mode_ == BatchNorm::BatchStats) {
    features_batch_stats(x.data(), N, H, W, chunks, f.data());
    return f;
  }
  for (const Chunk& c : chunks)
    features_folded(x.data() + c.n0 * 3 * H * W, c.n, H, W, f.data() + c.n0 * num_features());
  return f;
}

FusedResNet::Blocked FusedResNet::padded_input(const float* x, int64_t N, int64_t H, int64_t W) const {
  const int64_t pad = stem_.packed.pad;
  const Blocked xp{Tensor::empty({N, 3, H + 2 * pad, W + 2 * pad}), 3, H, W};
  cpu::nchwc::pad_plain(x, N, 3, H, W, pad, xp.data.data());
  return xp;
}

void FusedResNet::max_pool_stem(const Blocked& stem, const Chunk& c, const Blocked& pooled, const Blocked* pooled16) {
  namespace nc = cpu::nchwc;
  nc::max_pool2d(image(stem.data, c.n0), c.n, nc::blocks(stem.C), stem.H, stem.W, 3, 2, 1, image(pooled.data, c.n0));
  if (pooled16)
    nc::to_bf16(image(pooled.data, c.n0), c.n * (pooled.data.numel() / pooled.data.size(0)),
                reinterpret_cast<uint16_t*>(image(pooled16->data, c.n0)));
}

void FusedResNet::average_pool(const Blocked& y, const Chunk& c, float* out) {
  float* rows = out + c.n0 * y.C;
  if (y.bf16)
    cpu::nchwc::global_avg_pool(reinterpret_cast<const uint16_t*>(image(y.data, c.n0)), c.n, y.C, y.H * y.W, rows);
  else
    cpu::nchwc::global_avg_pool(image(y.data, c.n0), c.n, y.C, y.H * y.W, rows);
}

// The folded CPU path: the stem reads the padded image, everything after it
// stays in the blocked layout until the global average pool.
void FusedResNet::features_folded(const float* x, int64_t N, int64_t H, int64_t W, float* out) const {
  namespace nc = cpu::nchwc;
  const Chunk all{0, N};
  const Blocked stem = conv(padded_input(x, N, H, W), stem_, true);
  const int64_t P = nc::out_size(stem.H, 3, 2, 1), Q = nc::out_size(stem.W, 3, 2, 1);
  Blocked y = make_blocked(N, stem.C, P, Q, false);
  if (precision_ == Precision::BF16) {
    const Blocked y16 = make_blocked(N, stem.C, P, Q, true);
    max_pool_stem(stem, all, y, &y16);
    y = y16;
  } else {
    max_pool_stem(stem, all, y, nullptr);
  }
  for (const Block& b : blocks_) {
    // The block input is ours (never the caller's tensor), so the last conv
    // may accumulate into it when it is the identity shortcut.
    const Blocked identity = b.has_downsample ? conv(y, b.downsample, false) : y;
    Blocked out = y;
    for (size_t i = 0; i + 1 < b.convs.size(); ++i) out = conv(out, b.convs[i], true);
    y = conv(out, b.convs.back(), true, &identity);
  }
  average_pool(y, all, out);
}

// ---- BatchStats on the CPU ------------------------------------------------
//
// A batch norm in training mode needs the statistics of the whole batch, so
// the batch cannot run through the network chunk by chunk as Folded does. It
// can run through each conv chunk by chunk: the conv writes its raw output for
// every image, its statistics are merged while each chunk is still in cache,
// and the normalization (scale, shift, residual, ReLU), known once the last
// chunk is through, is applied to a chunk just before the next conv reads it.
// An activation then crosses memory three times (the conv's store, the
// normalization's load and store) instead of five (also a statistics pass and
// the next conv's load): ResNet-50 at batch 32 measured in docs/PERFORMANCE.md.
// Every step sums in the same order as one pass over the batch would, so the
// result does not depend on the chunks (tests/test_fused_resnet.cpp).

struct FusedResNet::Moments {
  std::vector<double> mean, m2;  // per channel: mean and sum of squared deviations
  int64_t images = 0;            // images merged so far
};

struct FusedResNet::Pending {
  Blocked raw;                      // the conv's float32 output, every image (none for the first block's input)
  Blocked out;                      // where the normalized values go: raw itself (float32) or a bfloat16 twin
  std::vector<float> scale, shift;  // Kb*16 (zero past K); empty when nothing is pending
  Blocked residual;                 // already normalized, added after scale and shift; or no data
  bool relu = false;

  // Normalizes the chunk's images of raw into out.
  void apply(const Chunk& c) const {
    namespace nc = cpu::nchwc;
    if (scale.empty()) return;
    const int64_t Kb = nc::blocks(raw.C), HW = raw.H * raw.W;
    const float* r = residual.data.defined() ? image(residual.data, c.n0) : nullptr;
    if (!out.bf16) {
      nc::scale_shift(image(raw.data, c.n0), c.n, Kb, HW, scale.data(), shift.data(), r, relu);
      return;
    }
    nc::scale_shift_bf16(image(raw.data, c.n0), c.n, Kb, HW, scale.data(), shift.data(),
                         reinterpret_cast<const uint16_t*>(r), relu,
                         reinterpret_cast<uint16_t*>(image(out.data, c.n0)));
  }
};

// The chunk's images through the conv alone (float32 out), and their statistics merged into m.
void FusedResNet::conv_raw(const Blocked& x, const ConvBn& c, const Chunk& chunk, const Blocked& raw,
                           Moments& m) const {
  namespace nc = cpu::nchwc;
  const nc::PackedConv& pc = c.packed;
  SN_CHECK(x.C == pc.C && x.bf16 == pc.bf16, "FusedResNet: input of ", x.C, " channels for a conv of ", pc.C);
  nc::conv2d(pc, chunk.n, x.H, x.W, image(x.data, chunk.n0), image(raw.data, chunk.n0), nc::Activation::None, false,
             false);
  m.mean.resize(size_t(pc.K)), m.m2.resize(size_t(pc.K));
  nc::batch_stats(image(raw.data, chunk.n0), chunk.n, pc.K, raw.H * raw.W, m.images, m.mean.data(), m.m2.data());
  m.images += chunk.n;
}

// Once every chunk is through the conv: its batch norm from the batch's
// statistics, and the running statistics moved as in BatchNorm2d's training
// forward: (1 - momentum) * running + momentum * batch (unbiased variance).
FusedResNet::Pending FusedResNet::normalization(const ConvBn& c, const Moments& m, const Blocked& raw, bool relu,
                                                const Blocked& residual) const {
  namespace nc = cpu::nchwc;
  const nc::PackedConv& pc = c.packed;
  Pending p;
  p.raw = raw;
  p.out = pc.bf16 ? make_blocked(raw.data.size(0), raw.C, raw.H, raw.W, true) : raw;
  p.residual = residual, p.relu = relu;
  p.scale.assign(size_t(pc.out_blocks() * nc::kBlock), 0.f);
  p.shift.assign(p.scale.size(), 0.f);
  const int64_t M = m.images * raw.H * raw.W;
  float *rm = c.running_mean.data(), *rv = c.running_var.data();
  const float *gamma = c.bn_weight.defined() ? c.bn_weight.data() : nullptr,
              *beta = c.bn_bias.defined() ? c.bn_bias.data() : nullptr;
  for (int64_t k = 0; k < pc.K; ++k) {
    const double var = m.m2[size_t(k)] / double(M);
    const float mean = float(m.mean[size_t(k)]), v = float(var);
    const float unbiased = M > 1 ? float(var * double(M) / double(M - 1)) : v;
    rm[k] = (1 - c.momentum) * rm[k] + c.momentum * mean;
    rv[k] = (1 - c.momentum) * rv[k] + c.momentum * unbiased;
    const float invstd = 1.f / std::sqrt(v + c.eps);
    p.scale[size_t(k)] = invstd * (gamma ? gamma[k] : 1.f);
    p.shift[size_t(k)] = (beta ? beta[k] : 0.f) - mean * p.scale[size_t(k)];
  }
  return p;
}

void FusedResNet::features_batch_stats(const float* x, int64_t N, int64_t H, int64_t W,
                                       const std::vector<Chunk>& chunks, float* out) const {
  namespace nc = cpu::nchwc;
  // A conv's raw output for input `in`: float32 in both precisions.
  auto raw_for = [N](const ConvBn& c, const Blocked& in) {
    const nc::PackedConv& pc = c.packed;
    return make_blocked(N, pc.K, nc::out_size(in.H, pc.R, pc.stride, pc.pad),
                        nc::out_size(in.W, pc.S, pc.stride, pc.pad), false);
  };
  const Blocked padded = padded_input(x, N, H, W);

  // The stem, then (per chunk) its normalization and the max pool.
  Moments ms;
  const Blocked stem_raw = raw_for(stem_, padded);
  for (const Chunk& c : chunks) conv_raw(padded, stem_, c, stem_raw, ms);
  const Pending stem = normalization(stem_, ms, stem_raw, true, Blocked{});
  const int64_t P = nc::out_size(stem_raw.H, 3, 2, 1), Q = nc::out_size(stem_raw.W, 3, 2, 1);
  const Blocked pooled = make_blocked(N, stem_raw.C, P, Q, false);
  const bool bf16 = precision_ == Precision::BF16;
  Pending in;  // the block input: nothing pending
  in.out = bf16 ? make_blocked(N, stem_raw.C, P, Q, true) : pooled;
  for (const Chunk& c : chunks) {
    stem.apply(c);
    max_pool_stem(stem.out, c, pooled, bf16 ? &in.out : nullptr);
  }

  // Each block: one pass over the chunks per conv. The first also runs the
  // downsample; the second applies the downsample's normalization, so it is
  // ready when the block's output adds it.
  for (const Block& b : blocks_) {
    std::vector<Pending> outs;
    Pending down;
    for (size_t i = 0; i < b.convs.size(); ++i) {
      const Pending& src = i == 0 ? in : outs.back();
      const bool with_down = i == 0 && b.has_downsample;
      Moments m, md;
      const Blocked raw = raw_for(b.convs[i], src.out);
      const Blocked raw_down = with_down ? raw_for(b.downsample, src.out) : Blocked{};
      for (const Chunk& c : chunks) {
        src.apply(c);
        if (i == 1) down.apply(c);
        conv_raw(src.out, b.convs[i], c, raw, m);
        if (with_down) conv_raw(src.out, b.downsample, c, raw_down, md);
      }
      if (with_down) down = normalization(b.downsample, md, raw_down, false, Blocked{});
      const bool last = i + 1 == b.convs.size();
      const Blocked residual = !last ? Blocked{} : b.has_downsample ? down.out : in.out;
      outs.push_back(normalization(b.convs[i], m, raw, true, residual));
    }
    in = outs.back();
  }
  for (const Chunk& c : chunks) {
    in.apply(c);
    average_pool(in.out, c, out);
  }
}

Tensor FusedResNet::features(const Tensor& x) const {
  NoGradGuard no_grad;
  SN_CHECK(x.ndim() == 4 && x.size(1) == 3, "FusedResNet input must be (N, 3, H, W), got ", to_string(x.shape()));
  if (!x.is_cuda()) return features_cpu(x);
  SN_CHECK(mode_ == BatchNorm::Folded && precision_ == Precision::F32,
           "FusedResNet: batch statistics and bfloat16 run on the CPU only");
  SN_CHECK(stem_.weight.defined(), "FusedResNet: built from a model on the CPU, given an input on ",
           to_string(x.device()), ": move the model first");
  Tensor y = max_pool2d(conv_gpu(x, stem_, true), 3, 2, 1);
  for (const Block& b : blocks_) {
    Tensor identity = b.has_downsample ? conv_gpu(y, b.downsample, false) : y;
    Tensor out = y;
    for (size_t i = 0; i + 1 < b.convs.size(); ++i) out = conv_gpu(out, b.convs[i], true);
    y = conv_gpu(out, b.convs.back(), true, identity);
  }
  return flatten(adaptive_avg_pool2d_1x1(y));
}

Tensor FusedResNet::forward(const Tensor& x) const {
  NoGradGuard no_grad;
  return linear(features(x), fc_weight_, fc_bias_);
}

}  // namespace sn::models
