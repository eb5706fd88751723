// Model-level cases: ResNet-18/50 forward at batch 1 (latency) and batch 32
// (throughput), with batch norm in inference mode and in training mode, and
// one fc-only training step of the transfer-learning experiment (frozen
// backbone, new Linear(features, 2) head, cross-entropy, backward, Adam).
// Both sides run the same weights: LibTorch's ResNet (torch_resnet.h) reads
// the scratchnet model's state_dict.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "engine/random.h"
#include "models/fused_resnet.h"
#include "models/resnet.h"
#include "tools/bench/libtorch/cases.h"
#include "tools/bench/libtorch/torch_resnet.h"

namespace sn::bench {

namespace {

// A model with He-initialized convs (torchvision's init) and batch-norm
// parameters and statistics drawn around their defaults, so that inference
// and training modes compute visibly different things.
std::shared_ptr<models::ResNet> make_model(const std::string& arch, int classes, uint64_t seed) {
  Rng rng(seed);
  auto m = arch == "resnet18" ? models::resnet18(classes, &rng) : models::resnet50(classes, &rng);
  for (auto& [name, t] : m->state_dict()) {
    const auto ends = [&](const char* suffix) {
      const std::string s(suffix);
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (name.find("bn") == std::string::npos && name.find("downsample.1") == std::string::npos) continue;
    std::vector<float> v(size_t(t.numel()));
    for (auto& e : v) {
      if (ends("running_var"))
        e = float(rng.uniform(0.5, 1.5));
      else if (ends("running_mean") || ends("bias"))
        e = float(rng.uniform(-0.1, 0.1));
      else if (ends("weight"))
        e = float(rng.uniform(0.5, 1.0));
      else
        e = 0;
    }
    if (!ends("num_batches_tracked")) t.copy_(Tensor::from_vector(v, t.shape()));
  }
  return m;
}

TorchResNet to_torch_model(const models::ResNet& m, const std::string& arch) {
  TorchResNet t;
  t.bottleneck = arch == "resnet50";
  const int b18[4] = {2, 2, 2, 2}, b50[4] = {3, 4, 6, 3};
  for (int i = 0; i < 4; ++i) t.blocks[i] = t.bottleneck ? b50[i] : b18[i];
  for (const auto& [name, tensor] : m.state_dict()) t.p[name] = to_torch(tensor);
  return t;
}

// fused: scratchnet runs models::FusedResNet (batch norm folded into the
// convs, bias/ReLU/residual in the GEMM epilogue) against LibTorch's plain
// eager forward: what each library offers a frozen backbone out of the box.
Case forward_case(const std::string& arch, int64_t N, bool training, bool fused = false) {
  Case c;
  c.group = "model";
  const bool r50 = arch == "resnet50";
  c.name = arch + " forward b" + std::to_string(N) +
           (training ? " train-mode BN" : (fused ? " inference, BN folded" : " inference"));
  // Multiply-adds of one 224x224 image: 1.82 G (ResNet-18), 4.11 G (ResNet-50).
  c.flops = 2.0 * (r50 ? 4.11e9 : 1.82e9) * double(N);
  c.cost = N > 1 ? 4 : 1;
  c.min_rounds = N > 1 ? 3 : 0;  // seconds per call at batch 32: 3 interleaved rounds
  c.make = [=]() {
    auto model = make_model(arch, 1000, 42);
    training ? model->train() : model->eval();
    auto tmodel = std::make_shared<TorchResNet>(to_torch_model(*model, arch));
    Rng rng(43);
    auto x = std::make_shared<Tensor>(Tensor::uniform({N, 3, 224, 224}, rng, -2, 2));
    auto tx = std::make_shared<at::Tensor>(to_torch(*x));
    auto y = std::make_shared<Tensor>();
    auto ty = std::make_shared<at::Tensor>();
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::NoGradGuard g;
                          *ty = tmodel->forward(*tx, training);
                        }});
    auto folded = fused ? std::make_shared<models::FusedResNet>(*model) : nullptr;
    in.sides.push_back({"fast", [=] {
                          NoGradGuard g;
                          *y = folded ? folded->forward(*x) : model->forward(*x);
                        }});
    // 50 layers of float32 in different summation orders: 1e-3 relative
    // (L2) is still far below what any wrong layer would give.
    in.check = [=] { return compare(*y, *ty, 1e-3); };
    return in;
  };
  return c;
}

// One step of the experiment's training: the frozen backbone (inference mode,
// no graph) gives features, the new head Linear(features, 2) is trained with
// cross-entropy and Adam (lr 1e-3).
Case fc_step_case(const std::string& arch, int64_t N) {
  Case c;
  c.group = "model";
  c.name = arch + " fc-only train step b" + std::to_string(N);
  c.flops = 2.0 * (arch == "resnet50" ? 4.11e9 : 1.82e9) * double(N);
  c.cost = 4;
  c.min_rounds = 3;
  c.make = [=]() {
    auto model = make_model(arch, 2, 44);
    model->eval();
    model->requires_grad_(false);
    model->fc->requires_grad_(true);
    auto tmodel = std::make_shared<TorchResNet>(to_torch_model(*model, arch));
    auto tw = std::make_shared<at::Tensor>(tmodel->p["fc.weight"].clone().requires_grad_(true));
    auto tb = std::make_shared<at::Tensor>(tmodel->p["fc.bias"].clone().requires_grad_(true));
    auto topt =
        std::make_shared<torch::optim::Adam>(std::vector<at::Tensor>{*tw, *tb}, torch::optim::AdamOptions(1e-3));
    auto opt = std::make_shared<optim::Adam>(model->fc->parameters());
    Rng rng(45);
    auto x = std::make_shared<Tensor>(Tensor::uniform({N, 3, 224, 224}, rng, -2, 2));
    std::vector<int64_t> labels(static_cast<size_t>(N));
    for (auto& l : labels) l = rng.randint(0, 1);
    auto tx = std::make_shared<at::Tensor>(to_torch(*x));
    auto tlabels = std::make_shared<at::Tensor>(at::tensor(labels, at::kLong));
    auto loss = std::make_shared<Tensor>();
    auto tloss = std::make_shared<at::Tensor>();
    Instance in;
    in.sides.push_back({"libtorch", [=] {
                          at::Tensor f;
                          {
                            at::NoGradGuard g;
                            f = tmodel->features(*tx, false);
                          }
                          topt->zero_grad();
                          *tloss = at::cross_entropy_loss(at::linear(f, *tw, *tb), *tlabels);
                          tloss->backward();
                          topt->step();
                        }});
    in.sides.push_back({"fast", [=] {
                          Tensor f;
                          {
                            NoGradGuard g;
                            f = model->features(*x);
                          }
                          opt->zero_grad();
                          *loss = cross_entropy(model->fc->forward(f), labels);
                          loss->backward();
                          opt->step();
                        }});
    // After one step each: the same loss, and the same updated head.
    in.check = [=] {
      return merge(compare(*loss, *tloss, 1e-3),
                   merge(compare(model->fc->weight, *tw, 1e-3), compare(model->fc->bias, *tb, 1e-3)));
    };
    return in;
  };
  return c;
}

}  // namespace

std::vector<Case> model_cases(const Options& o) {
  std::vector<Case> v;
  for (const std::string arch : {"resnet18", "resnet50"}) {
    v.push_back(forward_case(arch, 1, false));
    v.push_back(forward_case(arch, 32, false));
    if (!o.quick) v.push_back(forward_case(arch, 32, true));
    v.push_back(forward_case(arch, 32, false, true));
  }
  v.push_back(fc_step_case("resnet50", 32));
  return v;
}

}  // namespace sn::bench
