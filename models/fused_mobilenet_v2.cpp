#include "models/fused_mobilenet_v2.h"

#include <algorithm>
#include <string>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/nchwc.h"
#include "engine/parallel.h"
#include "models/fold_batch_norm.h"

namespace sn::models {

namespace nc = cpu::nchwc;

namespace {
template <typename T>
const T& as(const nn::Module& m, const std::string& what) {
  const T* t = dynamic_cast<const T*>(&m);
  SN_CHECK(t != nullptr, "FusedMobileNetV2: ", what, " has an unexpected type (", m.type_name(), ")");
  return *t;
}

// A conv and the batch norm after it, folded (fold_batch_norm.h); the weights on the CPU.
struct Folded {
  FoldedConv f;
  const nn::Conv2d* conv;
};
Folded fold(const nn::Module& conv, const nn::Module& bn, const std::string& what) {
  const auto& c = as<nn::Conv2d>(conv, what + " conv");
  SN_CHECK(!c.weight.is_cuda(), "FusedMobileNetV2: the model must be on the CPU");
  FoldedConv f = fold_batch_norm(c, as<nn::BatchNorm2d>(bn, what + " batch norm"));
  return {{f.weight.to(Device::CPU), f.bias.to(Device::CPU)}, &c};
}
// Conv2dNormActivation (mobilenet_v2.h's ConvBNReLU6): Sequential conv, batch norm, ReLU6.
Folded fold_cbr(const nn::Module& m, const std::string& what) {
  const auto& seq = as<nn::Sequential>(m, what);
  SN_CHECK(seq.size() == 3, "FusedMobileNetV2: ", what, " must be conv, batch norm, ReLU6");
  return fold(seq[0], seq[1], what);
}
// A dense conv (groups 1) for the direct kernel.
nc::PackedConv pack(const Folded& fc, bool plain_input) {
  const Tensor& w = fc.f.weight;
  SN_CHECK(fc.conv->params.groups == 1, "FusedMobileNetV2: expected a dense conv, got groups ", fc.conv->params.groups);
  return nc::pack_conv(w.data(), fc.f.bias.data(), w.size(0), w.size(1), w.size(2), w.size(3), fc.conv->params.stride,
                       fc.conv->params.padding, plain_input);
}
}  // namespace

FusedMobileNetV2::FusedMobileNetV2(const MobileNetV2& model) {
  const nn::Sequential& f = *model.features;
  SN_CHECK(f.size() >= 3, "FusedMobileNetV2: features has ", f.size(), " modules");
  stem_ = pack(fold_cbr(f[0], "features.0"), /*plain_input=*/true);
  SN_CHECK(stem_.C == 3, "FusedMobileNetV2: the stem must read 3 channels, not ", stem_.C);
  for (size_t i = 1; i + 1 < f.size(); ++i) {
    const std::string name = "features." + std::to_string(i);
    const auto& ir = as<InvertedResidual>(f[i], name);
    const nn::Sequential& layers = *ir.conv;
    SN_CHECK(layers.size() == 3 || layers.size() == 4, "FusedMobileNetV2: ", name, " has ", layers.size(), " layers");
    Block b;
    b.expand = layers.size() == 4;
    size_t j = 0;
    if (b.expand) b.expand_conv = pack(fold_cbr(layers[j++], name + ".conv.0"), false);
    const Folded dw = fold_cbr(layers[j++], name + " depthwise");
    const int64_t C = dw.f.weight.size(0);
    SN_CHECK(dw.conv->params.groups == C && dw.f.weight.size(1) == 1 && dw.f.weight.size(2) == 3 &&
                 dw.f.weight.size(3) == 3 && dw.conv->params.padding == 1,
             "FusedMobileNetV2: ", name, " depthwise conv must be 3x3, pad 1, groups = channels");
    b.depthwise = nc::pack_depthwise(dw.f.weight.data(), dw.f.bias.data(), C, dw.conv->params.stride);
    b.project = pack(fold(layers[j], layers[j + 1], name + " project"), false);
    b.residual = ir.use_res_connect;
    blocks_.push_back(std::move(b));
  }
  last_ = pack(fold_cbr(f[f.size() - 1], "features." + std::to_string(f.size() - 1)), false);
}

FusedMobileNetV2::Blocked FusedMobileNetV2::make_blocked(int64_t N, int64_t C, int64_t H, int64_t W) {
  return {Tensor::empty({N, nc::blocks(C), H, W, nc::kBlock}), C, H, W};
}

FusedMobileNetV2::Blocked FusedMobileNetV2::conv(const Blocked& x, const nc::PackedConv& pc, nc::Activation act,
                                                 const Blocked* residual) {
  SN_CHECK(x.C == pc.C, "FusedMobileNetV2: input of ", x.C, " channels for a conv of ", pc.C);
  const int64_t N = x.data.size(0), P = nc::out_size(x.H, pc.R, pc.stride, pc.pad),
                Q = nc::out_size(x.W, pc.S, pc.stride, pc.pad);
  if (residual)
    SN_CHECK(residual->C == pc.K && residual->H == P && residual->W == Q, "FusedMobileNetV2: residual of ", residual->C,
             "x", residual->H, "x", residual->W, " does not match the conv output ", pc.K, "x", P, "x", Q);
  // The kernel adds its sum to the residual in place: the add costs no pass of its own.
  Blocked y = residual ? *residual : make_blocked(N, pc.K, P, Q);
  nc::conv2d(pc, N, x.H, x.W, x.data.data(), y.data.data(), act, residual != nullptr);
  return y;
}

Tensor FusedMobileNetV2::features(const Tensor& x) const {
  NoGradGuard no_grad;
  SN_CHECK(x.ndim() == 4 && x.size(1) == 3 && !x.is_cuda(),
           "FusedMobileNetV2 input must be (N, 3, H, W) on the CPU, got ", to_string(x.shape()),
           x.is_cuda() ? " on a GPU" : "");
  const int64_t N = x.size(0), threads = num_threads();
  if (N < kImagesPerThread * threads) return run(x);
  // A large batch: each thread takes a few images at a time through all 52 layers on its own
  // (parallel_chunks), instead of every layer splitting its work across the threads. MobileNetV2's
  // layers are small and memory-bound: splitting each cost a barrier per layer and kept no thread's
  // data in its cache (batch 32, 2 threads, Zen 5: 127 -> 97 ms). Chunks of up to 4 images read the
  // weights (14 MB) once per 4 images (per image: 129 ms), and are taken on demand, so a thread
  // that something else slows down takes fewer. No kernel's sums depend on which images share a
  // call: the result is the same bit for bit.
  const int64_t chunk = std::min<int64_t>(kImagesPerChunk, N / threads);
  Tensor out = Tensor::empty({N, last_.K});
  parallel_chunks(N, chunk, [&](int64_t n0, int64_t n1) {
    const Tensor f = run(x.slice(n0, n1));
    std::copy(f.data(), f.data() + f.numel(), out.data() + n0 * last_.K);
  });
  return out;
}

Tensor FusedMobileNetV2::run(const Tensor& x) const {
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3), pad = stem_.pad;
  // The stem reads the zero-padded plain image (conv2d_nchwc.h: plain input).
  Tensor xp = Tensor::empty({N, 3, H + 2 * pad, W + 2 * pad});
  nc::pad_plain(x.data(), N, 3, H, W, pad, xp.data());
  Blocked y = conv(Blocked{xp, 3, H, W}, stem_, nc::Activation::ReLU6);
  for (const Block& b : blocks_) {
    // y is ours (never the caller's tensor) and only the project conv reads
    // it again, as the residual it accumulates into.
    const Blocked hidden = b.expand ? conv(y, b.expand_conv, nc::Activation::ReLU6) : y;
    const nc::PackedDepthwise& dw = b.depthwise;
    SN_CHECK(hidden.C == dw.C, "FusedMobileNetV2: ", hidden.C, " channels into a depthwise conv of ", dw.C);
    Blocked d = make_blocked(N, dw.C, nc::out_size(hidden.H, 3, dw.stride, 1), nc::out_size(hidden.W, 3, dw.stride, 1));
    nc::depthwise3x3(dw, N, hidden.H, hidden.W, hidden.data.data(), d.data.data(), nc::Activation::ReLU6);
    y = conv(d, b.project, nc::Activation::None, b.residual ? &y : nullptr);
  }
  y = conv(y, last_, nc::Activation::ReLU6);
  Tensor out = Tensor::empty({N, y.C});
  nc::global_avg_pool(y.data.data(), N, y.C, y.H * y.W, out.data());
  return out;
}

}  // namespace sn::models
