// Conv cases: every distinct convolution of ResNet-18 and ResNet-50, at batch
// 1 and 32, forward (and forward+backward where the engine does it).
#include "engine/autograd.h"
#include "engine/cpu/conv2d.h"
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
    auto w = std::make_shared<Tensor>(
        Tensor::uniform({s.K, s.C, s.R, s.S}, rng, -1, 1));
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
      in.sides.push_back(
          {"ref", [=] { ref::conv2d_forward<float>(s, x->data(), w->data(), nullptr, y_ref->data()); }});
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
  return v;
}

}  // namespace sn::bench
