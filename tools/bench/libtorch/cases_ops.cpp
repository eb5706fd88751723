// Op-level cases: batch norm (training and inference), max pool, average
// pool, linear, softmax cross-entropy (forward + backward), relu, add, and the
// Adam step, at the sizes they have inside ResNet-18/50 at batch 32; relu6 and the
// adaptive average pool to 7x7 at MobileNetV2's and VGG-16's.
// These ops move memory rather than doing arithmetic, so no GFLOP/s is shown.
#include "engine/autograd.h"
#include "engine/cpu/adaptive_pool.h"
#include "engine/cpu/batch_norm.h"
#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/pooling.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "engine/random.h"
#include "tools/bench/libtorch/cases.h"

namespace sn::bench {

namespace {

std::string dims(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

template <typename T>
std::shared_ptr<T> share(T v) {
  return std::make_shared<T>(std::move(v));
}

Case batch_norm_case(int64_t N, int64_t C, int64_t H, bool training, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = std::string("batch_norm ") + (training ? "train " : "eval ") + dims({N, C, H, H});
  c.make = [=]() {
    Rng rng(3);
    auto x = share(Tensor::uniform({N, C, H, H}, rng, -2, 2));
    auto w = share(Tensor::uniform({C}, rng, 0.5, 1.5)), b = share(Tensor::uniform({C}, rng, -0.5, 0.5));
    auto rm = share(Tensor::uniform({C}, rng, -0.1, 0.1)), rv = share(Tensor::uniform({C}, rng, 0.5, 2));
    auto rm_ref = share(rm->clone()), rv_ref = share(rv->clone());
    auto y = share(Tensor()), y_ref = share(Tensor::zeros({N, C, H, H}));
    auto save_mean = share(Tensor::zeros({C})), save_invstd = share(Tensor::zeros({C}));
    auto tx = share(to_torch(*x)), tw = share(to_torch(*w)), tb = share(to_torch(*b));
    auto trm = share(to_torch(*rm)), trv = share(to_torch(*rv));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::NoGradGuard g;
                          *ty = at::batch_norm(*tx, *tw, *tb, *trm, *trv, training, 0.1, 1e-5, false);
                        }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = batch_norm(*x, *w, *b, *rm, *rv, training, 0.1f, 1e-5f);
                        }});
    if (with_ref)
      in.sides.push_back({"ref", [=] {
                            ref::batch_norm_forward<float>({N, C, H * H}, x->data(), w->data(), b->data(),
                                                           rm_ref->data(), rv_ref->data(), training, 0.1f, 1e-5f,
                                                           y_ref->data(), save_mean->data(), save_invstd->data());
                          }});
    // After exactly one call per side, the running statistics must match too.
    in.check = [=] {
      Check ck = merge(compare(*y, *ty), merge(compare(*rm, *trm), compare(*rv, *trv)));
      if (with_ref) ck = merge(ck, merge(compare(*y_ref, *ty), compare(*rm_ref, *trm)));
      return ck;
    };
    return in;
  };
  return c;
}

Case max_pool_case(int64_t N, int64_t C, int64_t H, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = "max_pool 3x3 s2 p1 " + dims({N, C, H, H});
  c.make = [=]() {
    Rng rng(4);
    auto x = share(Tensor::uniform({N, C, H, H}, rng, -1, 1));
    const int64_t P = (H + 2 - 3) / 2 + 1;
    auto y = share(Tensor()), y_ref = share(Tensor::zeros({N, C, P, P}));
    auto tx = share(to_torch(*x));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] { *ty = at::max_pool2d(*tx, {3, 3}, {2, 2}, {1, 1}); }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = max_pool2d(*x, 3, 2, 1);
                        }});
    if (with_ref)
      in.sides.push_back({"ref", [=] {
                            ref::max_pool2d_forward<float>({N, C, H, H, 3, 2, 1, P, P}, x->data(), y_ref->data());
                          }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

Case avg_pool_case(int64_t N, int64_t C, int64_t H, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = "avg_pool to 1x1 " + dims({N, C, H, H});
  c.make = [=]() {
    Rng rng(5);
    auto x = share(Tensor::uniform({N, C, H, H}, rng, -1, 1));
    auto y = share(Tensor()), y_ref = share(Tensor::zeros({N, C, 1, 1}));
    auto tx = share(to_torch(*x));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] { *ty = at::adaptive_avg_pool2d(*tx, {1, 1}); }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = adaptive_avg_pool2d_1x1(*x);
                        }});
    if (with_ref)
      in.sides.push_back({"ref", [=] { ref::avg_pool_1x1_forward<float>(N * C, H * H, x->data(), y_ref->data()); }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

// VGG-16's pool before the classifier: 7x7 from 7x7 at 224 (identity bins), from 14x14 at 448.
Case adaptive_pool_7x7_case(int64_t N, int64_t C, int64_t H, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = "adaptive avg_pool to 7x7 " + dims({N, C, H, H});
  c.make = [=]() {
    Rng rng(12);
    auto x = share(Tensor::uniform({N, C, H, H}, rng, -1, 1));
    auto y = share(Tensor()), y_ref = share(Tensor::zeros({N, C, 7, 7}));
    auto tx = share(to_torch(*x));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] { *ty = at::adaptive_avg_pool2d(*tx, {7, 7}); }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = adaptive_avg_pool2d(*x, 7, 7);
                        }});
    if (with_ref)
      in.sides.push_back({"ref", [=] {
                            ref::adaptive_avg_pool2d_forward<float>({N, C, H, H, 7, 7}, x->data(), y_ref->data());
                          }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

Case linear_case(int64_t N, int64_t in_f, int64_t out_f, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = "linear " + std::to_string(in_f) + "->" + std::to_string(out_f) + " b" + std::to_string(N);
  c.flops = 2.0 * double(N * in_f * out_f);
  c.make = [=]() {
    Rng rng(6);
    auto x = share(Tensor::uniform({N, in_f}, rng, -1, 1));
    auto w = share(Tensor::uniform({out_f, in_f}, rng, -0.05, 0.05)), b = share(Tensor::uniform({out_f}, rng, -1, 1));
    auto y = share(Tensor()), y_ref = share(Tensor::zeros({N, out_f}));
    auto tx = share(to_torch(*x)), tw = share(to_torch(*w)), tb = share(to_torch(*b));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::NoGradGuard g;
                          *ty = at::linear(*tx, *tw, *tb);
                        }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = linear(*x, *w, *b);
                        }});
    if (with_ref)
      in.sides.push_back(
          {"ref", [=] { ref::linear_forward<float>(N, in_f, out_f, x->data(), w->data(), b->data(), y_ref->data()); }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

// log-softmax + NLL, mean over the batch, forward and backward (the gradient
// of the logits is what training needs).
Case cross_entropy_case(int64_t N, int64_t K) {
  Case c;
  c.group = "op";
  c.name = "cross_entropy fwd+bwd " + dims({N, K});
  c.make = [=]() {
    Rng rng(8);
    auto logits = share(Tensor::uniform({N, K}, rng, -3, 3));
    std::vector<int64_t> labels(static_cast<size_t>(N));
    for (auto& l : labels) l = rng.randint(0, K - 1);
    auto tlogits = share(to_torch(*logits));
    auto tlabels = share(at::tensor(labels, at::kLong));
    auto loss = share(Tensor()), grad = share(Tensor());
    auto tloss = share(at::Tensor()), tgrad = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::Tensor l = tlogits->detach().requires_grad_(true);
                          *tloss = at::cross_entropy_loss(l, *tlabels);
                          tloss->backward();
                          *tgrad = l.grad();
                        }});
    in.sides.push_back({"fast", [=] {
                          Tensor l = logits->detach();
                          l.set_requires_grad(true);
                          *loss = cross_entropy(l, labels);
                          loss->backward();
                          *grad = l.grad();
                        }});
    in.check = [=] { return merge(compare(*loss, *tloss), compare(*grad, *tgrad)); };
    return in;
  };
  return c;
}

Case relu_case(const Shape& s, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = "relu " + dims(s);
  c.make = [=]() {
    Rng rng(9);
    auto x = share(Tensor::uniform(s, rng, -1, 1));
    auto y = share(Tensor()), y_ref = share(Tensor::zeros(s));
    auto tx = share(to_torch(*x));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] { *ty = at::relu(*tx); }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = relu(*x);
                        }});
    if (with_ref) in.sides.push_back({"ref", [=] { ref::relu_forward<float>(x->data(), y_ref->data(), x->numel()); }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

Case relu6_case(const Shape& s, bool with_ref) {
  Case c;
  c.group = "op";
  c.name = "relu6 " + dims(s);
  c.make = [=]() {
    Rng rng(13);
    auto x = share(Tensor::uniform(s, rng, -2, 8));  // both clamps active
    auto y = share(Tensor()), y_ref = share(Tensor::zeros(s));
    auto tx = share(to_torch(*x));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] { *ty = at::relu6(*tx); }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = relu6(*x);
                        }});
    if (with_ref) in.sides.push_back({"ref", [=] { ref::relu6_forward<float>(x->data(), y_ref->data(), x->numel()); }});
    in.check = [=] { return with_ref ? merge(compare(*y, *ty), compare(*y_ref, *ty)) : compare(*y, *ty); };
    return in;
  };
  return c;
}

Case add_case(const Shape& s) {
  Case c;
  c.group = "op";
  c.name = "add " + dims(s);
  c.make = [=]() {
    Rng rng(10);
    auto a = share(Tensor::uniform(s, rng, -1, 1)), b = share(Tensor::uniform(s, rng, -1, 1));
    auto y = share(Tensor());
    auto ta = share(to_torch(*a)), tb = share(to_torch(*b));
    auto ty = share(at::Tensor());
    Instance in;
    in.sides.push_back({"libtorch", [=] { *ty = at::add(*ta, *tb); }});
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = add(*a, *b);
                        }});
    in.check = [=] { return compare(*y, *ty); };
    return in;
  };
  return c;
}

// One Adam step (lr 1e-3, PyTorch's defaults) on a weight and a bias with
// given gradients: ResNet-50's 2048->1000 classifier, and the cat/dog head.
Case adam_case(int64_t in_f, int64_t out_f) {
  Case c;
  c.group = "op";
  c.name = "adam step " + std::to_string(out_f) + "x" + std::to_string(in_f) + " + " + std::to_string(out_f);
  c.make = [=]() {
    Rng rng(11);
    auto w = share(Tensor::uniform({out_f, in_f}, rng, -0.05, 0.05)), b = share(Tensor::uniform({out_f}, rng, -1, 1));
    w->set_requires_grad(true);
    b->set_requires_grad(true);
    w->accumulate_grad(Tensor::uniform({out_f, in_f}, rng, -1, 1));
    b->accumulate_grad(Tensor::uniform({out_f}, rng, -1, 1));
    auto tw = share(to_torch(*w).requires_grad_(true)), tb = share(to_torch(*b).requires_grad_(true));
    tw->mutable_grad() = to_torch(w->grad());
    tb->mutable_grad() = to_torch(b->grad());
    auto opt = std::make_shared<optim::Adam>(std::vector<Tensor>{*w, *b});
    auto topt =
        std::make_shared<torch::optim::Adam>(std::vector<at::Tensor>{*tw, *tb}, torch::optim::AdamOptions(1e-3));
    Instance in;
    in.sides.push_back({"libtorch", [=] { topt->step(); }});
    in.sides.push_back({"fast", [=] { opt->step(); }});
    // After one step each (the gradients stay fixed), the parameters match.
    in.check = [=] { return merge(compare(*w, *tw, 1e-6), compare(*b, *tb, 1e-6)); };
    return in;
  };
  return c;
}

}  // namespace

std::vector<Case> op_cases(const Options& o) {
  const bool ref = o.with_ref;
  std::vector<Case> v;
  for (bool training : {true, false}) {
    v.push_back(batch_norm_case(32, 64, 112, training, ref));  // after the stem conv
    v.push_back(batch_norm_case(32, 256, 56, training, ref));  // ResNet-50 layer1 output
    if (!o.quick) v.push_back(batch_norm_case(32, 2048, 7, training, ref));
  }
  v.push_back(max_pool_case(32, 64, 112, ref));
  v.push_back(avg_pool_case(32, 512, 7, ref));
  v.push_back(avg_pool_case(32, 2048, 7, ref));
  v.push_back(linear_case(32, 2048, 1000, ref));
  v.push_back(linear_case(32, 2048, 2, ref));
  v.push_back(linear_case(32, 512, 2, ref));
  v.push_back(cross_entropy_case(32, 1000));
  v.push_back(cross_entropy_case(32, 2));
  v.push_back(adam_case(2048, 1000));
  v.push_back(adam_case(2048, 2));
  v.push_back(relu_case({32, 256, 56, 56}, ref));
  v.push_back(add_case({32, 256, 56, 56}));
  v.push_back(relu6_case({32, 144, 56, 56}, ref));  // MobileNetV2's block-3 expansion
  v.push_back(adaptive_pool_7x7_case(32, 512, 7, ref));
  v.push_back(adaptive_pool_7x7_case(32, 512, 14, ref));
  return v;
}

}  // namespace sn::bench
