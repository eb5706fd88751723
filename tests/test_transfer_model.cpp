// The transfer model of the experiment (tools/experiment/transfer_model.h): fine-tuning
// layer4+fc (only they train, the loss goes down, the gradients match finite differences)
// and the folded inference snapshot of its features. On the tiny fixture of
// tests/train_fixture.h: a reduced-width ResNet-18 on 32x32 crops.
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/resnet.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/backbone.h"
#include "tools/experiment/optimizer_state.h"
#include "tools/experiment/trainer.h"
#include "tools/experiment/transfer_model.h"

using namespace sn;
using namespace sn::train;

TEST_CASE("fine-tuning layer4+fc: the loss goes down over a few batches", "[experiment][finetune]") {
  auto cfg = test::tiny_config(test::fresh_run_dir("finetune"));
  cfg.train_layers = {"layer4", "fc"};
  cfg.epochs = 1;
  cfg.lr = 1e-3;
  resolve(cfg);
  const Backbone bb = load_backbone(cfg.model, cfg.weights);
  Rng rng(3);
  TransferModel model(bb.net, 2, cfg, rng);
  // layer4 and fc train, nothing else.
  int64_t trained = 0;
  for (const auto& [name, t] : model.trainable()) {
    CHECK((name.rfind("layer4.", 0) == 0 || name.rfind("fc.", 0) == 0));
    trained += t.numel();
  }
  CHECK(trained > 1000);
  CHECK_FALSE(bb.net->submodule("layer3")->named_parameters()[0].second.requires_grad());
  // A fixed batch of 8 random images; 10 Adam steps on it.
  const Tensor x = Tensor::randn({8, 3, 32, 32}, rng);
  const std::vector<int64_t> y{0, 1, 0, 1, 1, 0, 0, 1};
  std::vector<Tensor> params;
  for (auto& [n, t] : model.trainable()) params.push_back(t);
  auto opt = make_adam(params, 1e-3);
  std::vector<float> losses;
  model.set_phase(true);
  for (int i = 0; i < 10; ++i) {
    Tensor loss = cross_entropy(model.forward(x), y);
    losses.push_back(loss.item());
    opt->zero_grad();
    loss.backward();
    // layer4 received a gradient through conv and batch norm.
    if (i == 0) CHECK(bb.net->submodule("layer4")->named_parameters()[0].second.grad().defined());
    opt->step();
  }
  INFO("losses " << losses.front() << " -> " << losses.back());
  CHECK(losses.back() < 0.5f * losses.front());
}

TEST_CASE("fine-tuning layer4+fc: gradients match finite differences", "[experiment][finetune]") {
  auto cfg = test::tiny_config(test::fresh_run_dir("finetune_fd"));
  cfg.train_layers = {"layer4", "fc"};
  cfg.freeze_bn = true;  // frozen stages in inference mode; layer4 in training mode (batch statistics)
  resolve(cfg);
  const Backbone bb = load_backbone(cfg.model, cfg.weights);
  Rng rng(5);
  TransferModel model(bb.net, 2, cfg, rng);
  model.set_phase(true);
  const Tensor x = Tensor::randn({4, 3, 64, 64}, rng);  // layer4 sees 2x2 maps: 16 values per batch-norm channel
  const std::vector<int64_t> y{0, 1, 1, 0};
  auto params = model.trainable();
  // Analytic gradient.
  Tensor loss = cross_entropy(model.forward(x), y);
  loss.backward();
  // Directional derivatives, autograd's g.v against (L(p + h v) - L(p - h v)) / 2h,
  // along two unit directions v over all ~10^5 trained parameters: the
  // gradient's own direction (g.v = |g|: equal only if the gradient points
  // the right way and has the right length) and a random one. Running
  // statistics are restored after each probe (training mode updates them).
  std::vector<std::vector<float>> grads;
  double gnorm = 0;
  for (auto& [n, t] : params) {
    grads.push_back(t.grad().to_vector());
    for (float g : grads.back()) gnorm += double(g) * g;
  }
  gnorm = std::sqrt(gnorm);
  auto buffers = bb.net->submodule("layer4")->named_buffers();
  std::vector<std::vector<float>> saved;
  for (auto& [n, t] : buffers) saved.push_back(t.to_vector());
  auto loss_along = [&](const std::vector<std::vector<float>>& dir, double h) {
    std::vector<std::vector<float>> orig;
    for (size_t i = 0; i < params.size(); ++i) {
      orig.push_back(params[i].second.to_vector());
      std::vector<float> moved = orig.back();
      for (size_t j = 0; j < moved.size(); ++j) moved[j] += static_cast<float>(h * dir[i][j]);
      params[i].second.copy_(Tensor::from_vector(moved, params[i].second.shape()));
    }
    NoGradGuard no_grad;
    const double l = cross_entropy(model.forward(x), y).item();
    for (size_t i = 0; i < params.size(); ++i)
      params[i].second.copy_(Tensor::from_vector(orig[i], params[i].second.shape()));
    for (size_t i = 0; i < buffers.size(); ++i)
      buffers[i].second.copy_(Tensor::from_vector(saved[i], buffers[i].second.shape()));
    return l;
  };
  auto unit = [&](std::vector<std::vector<float>> d) {
    double n2 = 0;
    for (auto& v : d)
      for (float e : v) n2 += double(e) * e;
    for (auto& v : d)
      for (float& e : v) e = static_cast<float>(e / std::sqrt(n2));
    return d;
  };
  auto dot = [&](const std::vector<std::vector<float>>& d) {
    double s = 0;
    for (size_t i = 0; i < d.size(); ++i)
      for (size_t j = 0; j < d[i].size(); ++j) s += double(grads[i][j]) * d[i][j];
    return s;
  };
  std::vector<std::vector<float>> random_dir;
  for (auto& g : grads) {
    random_dir.emplace_back(g.size());
    for (auto& e : random_dir.back()) e = static_cast<float>(rng.normal());
  }
  // h = 3e-3: the loss curves strongly along the gradient (at h = 1e-2 the
  // central difference is already 1.3% low from curvature), while float32
  // noise on the loss (~1e-7 relative) over 2h stays near 2e-5 absolute.
  // Measured: 0.05% off along the gradient, 0.45% along the random direction.
  const double h = 3e-3;
  const auto along_g = unit(grads), along_r = unit(random_dir);
  const double fd_g = (loss_along(along_g, h) - loss_along(along_g, -h)) / (2 * h);
  const double fd_r = (loss_along(along_r, h) - loss_along(along_r, -h)) / (2 * h);
  INFO("|g| " << gnorm << " vs finite differences " << fd_g << "; random direction: autograd " << dot(along_r)
              << ", finite differences " << fd_r);
  CHECK(gnorm > 0.1);
  CHECK(std::abs(fd_g - gnorm) <= 0.01 * gnorm);
  CHECK(std::abs(fd_r - dot(along_r)) <= 0.05 * std::abs(dot(along_r)));
}

TEST_CASE("TransferModel features: the folded snapshot in inference equals the plain forward, and follows new weights",
          "[experiment][fused]") {
  // Two models over two copies of the same random backbone: fc alone trains in
  // `folded` (so evaluation folds batch norm), layer4+fc in `plain` (a
  // gradient can reach layer4, so with grad enabled it runs module by module).
  auto cfg = test::tiny_config(test::fresh_run_dir("fused_features"));
  resolve(cfg);
  const Backbone a = load_backbone(cfg.model, cfg.weights), b = load_backbone(cfg.model, cfg.weights);
  auto cfg_plain = cfg;
  cfg_plain.train_layers = {"layer4", "fc"};
  Rng rng(7);
  TransferModel folded(a.net, 2, cfg, rng), plain(b.net, 2, cfg_plain, rng);
  Rng data_rng(8);
  const Tensor x = Tensor::randn({3, 3, 32, 32}, data_rng);
  // Relative L2 error of float results that sum in another order: ~1e-7; 1e-5 is far below any real difference.
  auto rel_err = [](const Tensor& u, const Tensor& v) {
    const auto p = u.to_vector(), q = v.to_vector();
    REQUIRE(p.size() == q.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < p.size(); ++i) num += double(p[i] - q[i]) * (p[i] - q[i]), den += double(q[i]) * q[i];
    return std::sqrt(num / den);
  };
  folded.set_phase(false);
  plain.set_phase(false);
  CHECK(rel_err(folded.features(x), plain.features(x)) < 1e-5);

  // Training with batch norm in training mode changes the running statistics
  // (in both); the next evaluation must see them, not the old snapshot.
  // In `folded` this runs FusedResNet's batch-statistics mode (fc alone
  // trains), in `plain` the modules; statistics summed in another order: 1e-4.
  folded.set_phase(true);
  plain.set_phase(true);
  const Tensor train_folded = folded.features(x), train_plain = plain.features(x);
  CHECK(rel_err(train_folded, train_plain) < 1e-4);
  folded.set_phase(false);
  plain.set_phase(false);
  const Tensor after = folded.features(x);
  CHECK(rel_err(after, plain.features(x)) < 1e-5);

  // A checkpoint's statistics loaded in inference mode: also seen.
  nn::NamedTensors state = folded.checkpoint_state();
  for (auto& [name, t] : state)
    if (name.find("running_var") != std::string::npos) t = scale(t, 4.f);
  folded.load_checkpoint_state(state, "test state");
  plain.load_checkpoint_state(state, "test state");
  const Tensor loaded = folded.features(x);
  CHECK(rel_err(loaded, after) > 1e-2);              // the change is visible...
  CHECK(rel_err(loaded, plain.features(x)) < 1e-5);  // ...and equals the plain forward
}
