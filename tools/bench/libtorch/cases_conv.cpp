// Conv cases: every distinct convolution of ResNet-18 and ResNet-50, at batch
// 1 and 32, forward (and forward+backward where the engine does it).
#include "engine/cpu/conv2d_fast.h"
#include "engine/random.h"
#include "tools/bench/libtorch/cases.h"
#include "tools/bench/libtorch/resnet_shapes.h"

namespace sn::bench {

namespace {

Conv2dShape to_shape(const ConvSpec& c, int64_t N) {
  return {N, c.C, c.H, c.H, c.K, c.R, c.R, c.stride, c.pad, c.P(), c.P()};
}

Case forward_case(const ConvSpec& spec, int64_t N) {
  Case c;
  c.group = "conv";
  c.name = "conv " + spec.label() + " b" + std::to_string(N) + " fwd (" + spec.nets() + ")";
  const Conv2dShape s = to_shape(spec, N);
  c.flops = 2.0 * double(N * s.K * s.P * s.Q) * double(s.C * s.R * s.S);
  c.make = [s]() {
    Rng rng(7);
    // He-like scaling keeps outputs O(1), as in a real network.
    auto x = std::make_shared<Tensor>(Tensor::uniform({s.N, s.C, s.H, s.W}, rng, -1, 1));
    auto w = std::make_shared<Tensor>(
        Tensor::uniform({s.K, s.C, s.R, s.S}, rng, -1, 1));
    auto y = std::make_shared<Tensor>(Tensor::zeros({s.N, s.K, s.P, s.Q}));
    auto tx = std::make_shared<at::Tensor>(to_torch(*x));
    auto tw = std::make_shared<at::Tensor>(to_torch(*w));
    auto ty = std::make_shared<at::Tensor>();
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::NoGradGuard g;
                          *ty = at::conv2d(*tx, *tw, {}, {s.stride, s.stride}, {s.pad, s.pad});
                        }});
    in.sides.push_back({"fast", [=] { cpu::conv2d_forward_gemm(s, x->data(), w->data(), nullptr, y->data()); }});
    in.check = [=] { return compare(*y, *ty); };
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
      v.push_back(forward_case(spec, N));
    }
  return v;
}

}  // namespace sn::bench
