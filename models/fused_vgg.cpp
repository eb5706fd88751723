#include "models/fused_vgg.h"

#include <string>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/nchwc.h"
#include "engine/ops.h"

namespace sn::models {

FusedVGG::FusedVGG(const VGG& model, Precision precision, cpu::nchwc::ConvAlgo algo) : precision_(precision) {
  SN_USER_CHECK(precision == Precision::F32 || cpu::nchwc::bf16_supported(),
                "--precision bf16 needs a CPU with AVX512_BF16 (vdpbf16ps) and a scratchnet built for it "
                "(-march=native on such a CPU); this one has none: use --precision fp32");
  // The feature stages as the module lists them: conv [ReLU] ... max pool, in order.
  for (size_t i = 0; i < model.features->size(); ++i) {
    const std::string name = "features." + std::to_string(i);
    const nn::Module* m = model.submodule(name);
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(m)) {
      SN_CHECK(conv->params.groups == 1, "FusedVGG: ", name, " is a grouped conv");
      const Tensor w = conv->weight.to(Device::CPU);
      const Tensor b = conv->bias.defined() ? conv->bias.to(Device::CPU) : Tensor::zeros({w.size(0)});
      // Only features.0 reads the 3-channel image itself (plain layout, float32).
      const bool plain = steps_.empty();
      Step s;
      s.is_conv = true;
      s.conv =
          cpu::nchwc::pack_conv(w.data(), b.data(), w.size(0), w.size(1), w.size(2), w.size(3), conv->params.stride,
                                conv->params.padding, plain, !plain && precision == Precision::BF16, algo);
      steps_.push_back(std::move(s));
    } else if (dynamic_cast<const nn::ReLU*>(m)) {
      SN_CHECK(!steps_.empty() && steps_.back().is_conv && !steps_.back().relu, "FusedVGG: ", name,
               " is a ReLU that does not follow a conv");
      steps_.back().relu = true;  // in the conv's epilogue
    } else if (const auto* pool = dynamic_cast<const nn::MaxPool2d*>(m)) {
      Step s;
      s.pool_kernel = pool->kernel_size, s.pool_stride = pool->stride, s.pool_pad = pool->padding;
      steps_.push_back(s);
    } else {
      SN_FAIL("FusedVGG: ", name, " is a ", m ? m->type_name() : std::string("missing module"),
              ", not a conv, ReLU or max pool");
    }
  }
  SN_CHECK(!steps_.empty() && steps_.front().is_conv, "FusedVGG: features must start with a conv");
  pool_h_ = model.avgpool->out_h, pool_w_ = model.avgpool->out_w;
  // classifier.0 .. the one before the head: Linear [ReLU] and Dropout (the identity in inference).
  const std::string head = model.head_name();
  for (int i = 0;; ++i) {
    const std::string name = "classifier." + std::to_string(i);
    if (name == head) break;
    const nn::Module* m = model.submodule(name);
    SN_CHECK(m != nullptr, "FusedVGG: the classifier ends before its head ", head);
    if (const auto* l = dynamic_cast<const nn::Linear*>(m)) {
      dense_.push_back(
          {l->weight.to(Device::CPU).clone(), l->bias.defined() ? l->bias.to(Device::CPU).clone() : Tensor(), false});
    } else if (dynamic_cast<const nn::ReLU*>(m)) {
      SN_CHECK(!dense_.empty() && !dense_.back().relu, "FusedVGG: ", name, " is a ReLU that does not follow a Linear");
      dense_.back().relu = true;
    } else {
      SN_CHECK(dynamic_cast<const nn::Dropout*>(m) != nullptr, "FusedVGG: ", name, " is a ", m->type_name(),
               ", not a Linear, ReLU or Dropout");
    }
  }
}

FusedVGG::Blocked FusedVGG::make_blocked(int64_t N, int64_t C, int64_t H, int64_t W, bool bf16) {
  const int64_t Cb = cpu::nchwc::blocks(C);
  return {Tensor::empty({N, Cb, H, W, bf16 ? cpu::nchwc::kBlock / 2 : cpu::nchwc::kBlock}), C, H, W, bf16};
}

FusedVGG::Blocked FusedVGG::convert(const Blocked& x, bool bf16) {
  if (x.bf16 == bf16) return x;
  const int64_t N = x.data.size(0), n = N * cpu::nchwc::blocks(x.C) * x.H * x.W * cpu::nchwc::kBlock;
  Blocked y = make_blocked(N, x.C, x.H, x.W, bf16);
  if (bf16)
    cpu::nchwc::to_bf16(x.data.data(), n, reinterpret_cast<uint16_t*>(y.data.data()));
  else
    cpu::nchwc::from_bf16(reinterpret_cast<const uint16_t*>(x.data.data()), n, y.data.data());
  return y;
}

Tensor FusedVGG::features(const Tensor& x) const {
  namespace nc = cpu::nchwc;
  NoGradGuard no_grad;
  SN_CHECK(x.ndim() == 4 && x.size(1) == 3, "FusedVGG input must be (N, 3, H, W), got ", to_string(x.shape()));
  SN_CHECK(!x.is_cuda(), "FusedVGG runs on the CPU only");
  const int64_t N = x.size(0);
  // features.0 reads the zero-padded plain image; the padding is the conv's own.
  const nc::PackedConv& first = steps_.front().conv;
  const int64_t H = x.size(2), W = x.size(3), pad = first.pad;
  Tensor xp = Tensor::empty({N, 3, H + 2 * pad, W + 2 * pad});
  nc::pad_plain(x.data(), N, 3, H, W, pad, xp.data());
  Blocked y{xp, 3, H, W};
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    if (!s.is_conv) {
      // Max pooling is float32 on the blocked layout (a bfloat16 input would be widened first).
      const Blocked in = convert(y, false);
      const int64_t P = nc::out_size(in.H, s.pool_kernel, s.pool_stride, s.pool_pad),
                    Q = nc::out_size(in.W, s.pool_kernel, s.pool_stride, s.pool_pad);
      SN_CHECK(P > 0 && Q > 0, "FusedVGG: a ", in.H, "x", in.W, " map is too small for max pool ", i);
      y = make_blocked(N, in.C, P, Q, false);
      nc::max_pool2d(in.data.data(), N, nc::blocks(in.C), in.H, in.W, s.pool_kernel, s.pool_stride, s.pool_pad,
                     y.data.data());
      continue;
    }
    const nc::PackedConv& pc = s.conv;
    // The plain first conv reads xp as it is; a blocked conv reads its own element type.
    const Blocked in = pc.plain_input ? y : convert(y, pc.bf16);
    SN_CHECK(in.C == pc.C, "FusedVGG: input of ", in.C, " channels for a conv of ", pc.C);
    const int64_t P = nc::out_size(in.H, pc.R, pc.stride, pc.pad), Q = nc::out_size(in.W, pc.S, pc.stride, pc.pad);
    // bfloat16 out only when the next step is a bfloat16 conv: pools and the classifier read float32.
    const bool out_bf16 = pc.bf16 && i + 1 < steps_.size() && steps_[i + 1].is_conv && steps_[i + 1].conv.bf16;
    Blocked out = make_blocked(N, pc.K, P, Q, out_bf16);
    nc::conv2d(pc, N, in.H, in.W, in.data.data(), out.data.data(), s.relu ? nc::Activation::ReLU : nc::Activation::None,
               false, out_bf16);
    y = out;  // (the float32 output of features.0 is rounded to bfloat16 by the next conv's convert)
  }
  y = convert(y, false);
  // Leave the blocked layout: (N, C, H, W) in PyTorch's order, as flatten expects.
  Tensor map = Tensor::empty({N, y.C, y.H, y.W});
  nc::from_blocked(y.data.data(), N, y.C, y.H * y.W, map.data());
  // AdaptiveAvgPool2d((7,7)) is the identity on a 7x7 map (each bin one pixel).
  if (y.H != pool_h_ || y.W != pool_w_) map = adaptive_avg_pool2d(map, pool_h_, pool_w_);
  Tensor h = map.view({N, y.C * pool_h_ * pool_w_});
  for (const Dense& d : dense_) {
    const int64_t in = d.weight.size(1), out = d.weight.size(0);
    SN_CHECK(h.size(1) == in, "FusedVGG: ", h.size(1), " features into a Linear of ", in);
    Tensor o = Tensor::empty({N, out});
    cpu::linear_forward(N, in, out, h.data(), d.weight.data(), d.bias.defined() ? d.bias.data() : nullptr, o.data());
    if (d.relu) cpu::relu_forward(o.data(), o.data(), o.numel());
    h = o;
  }
  return h;
}

}  // namespace sn::models
