// Conv cases: every distinct convolution of ResNet-18 and ResNet-50, at batch
// 1 and 32, forward (and forward+backward where the engine does it); every depthwise
// convolution of MobileNetV2 (3x3, stride 1 and 2), the same way.
#include "engine/autograd.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_grouped.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "tools/bench/libtorch/cases.h"
#include "tools/bench/libtorch/resnet_shapes.h"

namespace sn::bench {

namespace {

Conv2dShape to_shape(const ConvSpec& c, int64_t N) {
  return {N, c.C, c.H, c.H, c.K, c.R, c.R, c.stride, c.pad, c.P(), c.P()};
}

Case forward_case(const ConvSpec& spec, int64_t N, bool with_ref) {
  Case c;
  c.group = "conv";
  c.name = "conv " + spec.label() + " b" + std::to_string(N) + " fwd (" + spec.nets() + ")";
  const Conv2dShape s = to_shape(spec, N);
  c.flops = 2.0 * double(N * s.K * s.P * s.Q) * double(s.C * s.R * s.S);
  c.make = [s, with_ref]() {
    Rng rng(7);
    // He-like scaling keeps outputs O(1), as in a real network.
    auto x = std::make_shared<Tensor>(Tensor::uniform({s.N, s.C, s.H, s.W}, rng, -1, 1));
    auto w = std::make_shared<Tensor>(Tensor::uniform({s.K, s.C, s.R, s.S}, rng, -1, 1));
    auto y = std::make_shared<Tensor>();
    auto y_ref = std::make_shared<Tensor>(Tensor::zeros({s.N, s.K, s.P, s.Q}));
    auto tx = std::make_shared<at::Tensor>(to_torch(*x));
    auto tw = std::make_shared<at::Tensor>(to_torch(*w));
    auto ty = std::make_shared<at::Tensor>();
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::NoGradGuard g;
                          *ty = at::conv2d(*tx, *tw, {}, {s.stride, s.stride}, {s.pad, s.pad});
                        }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = conv2d(*x, *w, Tensor(), {int(s.stride), int(s.pad)});
                        }});
    if (with_ref)
      in.sides.push_back({"ref", [=] { ref::conv2d_forward<float>(s, x->data(), w->data(), nullptr, y_ref->data()); }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

// Forward + backward: dx and dW from a random upstream gradient (ResNet's
// convs have no bias). 3x the forward's flops: forward, dgrad, wgrad.
Case backward_case(const ConvSpec& spec, int64_t N) {
  Case c;
  c.group = "conv";
  c.name = "conv " + spec.label() + " b" + std::to_string(N) + " fwd+bwd (" + spec.nets() + ")";
  const Conv2dShape s = to_shape(spec, N);
  c.flops = 3 * 2.0 * double(N * s.K * s.P * s.Q) * double(s.C * s.R * s.S);
  c.make = [s]() {
    Rng rng(8);
    auto x = std::make_shared<Tensor>(Tensor::uniform({s.N, s.C, s.H, s.W}, rng, -1, 1));
    auto w = std::make_shared<Tensor>(Tensor::uniform({s.K, s.C, s.R, s.S}, rng, -1, 1));
    auto gy = std::make_shared<Tensor>(Tensor::uniform({s.N, s.K, s.P, s.Q}, rng, -1, 1));
    x->set_requires_grad(true);
    w->set_requires_grad(true);
    auto tx = std::make_shared<at::Tensor>(to_torch(*x).requires_grad_(true));
    auto tw = std::make_shared<at::Tensor>(to_torch(*w).requires_grad_(true));
    auto tgy = std::make_shared<at::Tensor>(to_torch(*gy));
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          tx->mutable_grad() = at::Tensor();
                          tw->mutable_grad() = at::Tensor();
                          at::conv2d(*tx, *tw, {}, {s.stride, s.stride}, {s.pad, s.pad}).backward(*tgy);
                        }});
    in.sides.push_back({"fast", [=] {
                          x->zero_grad();
                          w->zero_grad();
                          conv2d(*x, *w, Tensor(), {int(s.stride), int(s.pad)}).backward(*gy);
                        }});
    in.check = [=] { return merge(compare(x->grad(), tx->grad()), compare(w->grad(), tw->grad())); };
    return in;
  };
  return c;
}

// Depthwise 3x3, padding 1 (groups = C = K): memory-bound, 9 multiply-adds per output.
// Forward, or forward + backward (dx and dW) from a random upstream gradient.
Case depthwise_case(int64_t C, int64_t H, int64_t stride, int64_t N, bool with_ref, bool backward) {
  Case c;
  c.group = "conv";
  const Conv2dShape s{N, C, H, H, C, 3, 3, stride, 1, (H - 1) / stride + 1, (H - 1) / stride + 1, C};
  c.name = "conv dw3x3 " + std::to_string(C) + " " + std::to_string(H) + " s" + std::to_string(stride) + " b" +
           std::to_string(N) + (backward ? " fwd+bwd" : " fwd") + " (mnv2)";
  c.flops = (backward ? 3 : 1) * 2.0 * double(N * C * s.P * s.Q) * 9.0;
  c.make = [s, with_ref, backward]() {
    Rng rng(9);
    auto x = std::make_shared<Tensor>(Tensor::uniform({s.N, s.C, s.H, s.W}, rng, -1, 1));
    auto w = std::make_shared<Tensor>(Tensor::uniform({s.K, 1, 3, 3}, rng, -1, 1));
    auto gy = std::make_shared<Tensor>(Tensor::uniform({s.N, s.K, s.P, s.Q}, rng, -1, 1));
    auto y = std::make_shared<Tensor>();
    auto y_ref = std::make_shared<Tensor>(Tensor::zeros({s.N, s.K, s.P, s.Q}));
    if (backward) {
      x->set_requires_grad(true);
      w->set_requires_grad(true);
    }
    auto tx = std::make_shared<at::Tensor>(to_torch(*x).requires_grad_(backward));
    auto tw = std::make_shared<at::Tensor>(to_torch(*w).requires_grad_(backward));
    auto tgy = std::make_shared<at::Tensor>(to_torch(*gy));
    auto ty = std::make_shared<at::Tensor>();
    const Conv2dParams p{int(s.stride), 1, int(s.C)};
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          if (!backward) {
                            at::NoGradGuard g;
                            *ty = at::conv2d(*tx, *tw, {}, {s.stride, s.stride}, {1, 1}, {1, 1}, s.C);
                            return;
                          }
                          tx->mutable_grad() = at::Tensor();
                          tw->mutable_grad() = at::Tensor();
                          at::conv2d(*tx, *tw, {}, {s.stride, s.stride}, {1, 1}, {1, 1}, s.C).backward(*tgy);
                        }});
    in.sides.push_back({"fast", [=] {
                          if (!backward) {
                            NoGradGuard g;
                            *y = conv2d(*x, *w, Tensor(), p);
                            return;
                          }
                          x->zero_grad();
                          w->zero_grad();
                          conv2d(*x, *w, Tensor(), p).backward(*gy);
                        }});
    if (with_ref && !backward)
      in.sides.push_back({"ref", [=] { ref::conv2d_forward<float>(s, x->data(), w->data(), nullptr, y_ref->data()); }});
    in.check = [=] {
      if (backward) return merge(compare(x->grad(), tx->grad()), compare(w->grad(), tw->grad()));
      return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty);
    };
    return in;
  };
  return c;
}

// torchvision's mobilenet_v2 at 224: channels, input size, stride of each distinct depthwise layer.
struct DepthwiseSpec {
  int64_t C, H, stride;
};
constexpr DepthwiseSpec kMobileNetV2Depthwise[] = {{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1},
                                                   {192, 28, 2}, {384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1}};

}  // namespace

std::vector<Case> conv_cases(const Options& o) {
  std::vector<Case> v;
  const auto specs = resnet_conv_specs();
  for (int64_t N : {int64_t(1), int64_t(32)})
    for (const auto& spec : specs) {
      if (o.quick && N == 32 && spec.count50 == 0) continue;  // quick: batch 32 only for ResNet-50's shapes
      // The reference loops run at ~1 GFLOP/s: time them for one image only.
      const bool ref = o.with_ref && N == 1 && !o.quick;
      v.push_back(forward_case(spec, N, ref));
    }
  if (o.backward)
    for (int64_t N : {int64_t(1), int64_t(32)})
      for (const auto& spec : specs) {
        if (o.quick && (N == 1 || spec.count50 == 0)) continue;
        v.push_back(backward_case(spec, N));
      }
  for (int64_t N : {int64_t(1), int64_t(32)})
    for (const DepthwiseSpec& d : kMobileNetV2Depthwise) {
      v.push_back(depthwise_case(d.C, d.H, d.stride, N, o.with_ref && N == 1 && !o.quick, false));
      if (o.backward && !(o.quick && N == 1)) v.push_back(depthwise_case(d.C, d.H, d.stride, N, false, true));
    }
  return v;
}

}  // namespace sn::bench
