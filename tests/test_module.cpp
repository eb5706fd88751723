// Modules: PyTorch state_dict names and order for a small nest, load_state_dict
// errors, train/eval propagation, freezing (no gradients, no graph), and
// skipping the random initial values of a network about to be loaded.
#include <map>
#include <memory>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/nn/init.h"
#include "engine/nn/layers.h"
#include "engine/nn/module.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::nn;

namespace {
// conv -> bn -> relu, like a torchvision block (no residual: names are the point).
class Block : public Module {
 public:
  explicit Block(Rng& rng) {
    conv = register_module("conv", std::make_shared<Conv2d>(4, 4, 3, 1, 1, false, rng));
    bn = register_module("bn", std::make_shared<BatchNorm2d>(4));
  }
  Tensor forward(const Tensor& x) override { return relu(bn->forward(conv->forward(x))); }
  std::string type_name() const override { return "Block"; }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
};

// conv1, bn1, layer1 = Sequential(Block, Block), pool, fc: a ResNet in miniature.
class Net : public Module {
 public:
  explicit Net(Rng& rng) {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(3, 4, 3, 2, 1, false, rng));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(4));
    layer1 = register_module("layer1", std::make_shared<Sequential>());
    layer1->append(std::make_shared<Block>(rng));
    layer1->append(std::make_shared<Block>(rng));
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
    fc = register_module("fc", std::make_shared<Linear>(4, 2, true, rng));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = relu(bn1->forward(conv1->forward(x)));
    h = avgpool->forward(layer1->forward(h));
    return fc->forward(flatten(h));
  }
  std::string type_name() const override { return "Net"; }
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Sequential> layer1;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<Linear> fc;
};

std::map<std::string, Tensor> as_map(const NamedTensors& v) { return {v.begin(), v.end()}; }
}  // namespace

TEST_CASE("module: state_dict names and order follow PyTorch", "[nn][module]") {
  Rng rng(70);
  Net net(rng);
  std::vector<std::string> names;
  for (auto& [n, t] : net.state_dict()) names.push_back(n);
  // What torch's state_dict() gives for the same nest (without num_batches_tracked):
  // each module's parameters, then its buffers, then its children, in registration order.
  const std::vector<std::string> expected = {"conv1.weight",
                                             "bn1.weight",
                                             "bn1.bias",
                                             "bn1.running_mean",
                                             "bn1.running_var",
                                             "layer1.0.conv.weight",
                                             "layer1.0.bn.weight",
                                             "layer1.0.bn.bias",
                                             "layer1.0.bn.running_mean",
                                             "layer1.0.bn.running_var",
                                             "layer1.1.conv.weight",
                                             "layer1.1.bn.weight",
                                             "layer1.1.bn.bias",
                                             "layer1.1.bn.running_mean",
                                             "layer1.1.bn.running_var",
                                             "fc.weight",
                                             "fc.bias"};
  CHECK(names == expected);
  CHECK(net.named_parameters().size() == 11);
  CHECK(net.named_buffers().size() == 6);
  CHECK(net.submodule("layer1.1.bn") == net.layer1->operator[](1).submodule("bn"));
  CHECK(count_parameters(net) == 3 * 4 * 9 + 8 + 2 * (4 * 4 * 9 + 8) + 4 * 2 + 2);
}

TEST_CASE("module: load_state_dict copies values and names the offending tensor", "[nn][module]") {
  Rng rng(71), rng2(72);
  Net a(rng), b(rng2);
  b.load_state_dict(as_map(a.state_dict()));
  CHECK(b.fc->weight.to_vector() == a.fc->weight.to_vector());
  CHECK(b.layer1->operator[](1).state_dict()[1].second.to_vector() == a.state_dict()[11].second.to_vector());

  auto missing = as_map(a.state_dict());
  missing.erase("layer1.1.bn.running_var");
  REQUIRE_THROWS_WITH(b.load_state_dict(missing),
                      Catch::Contains("missing") && Catch::Contains("layer1.1.bn.running_var"));

  auto unexpected = as_map(a.state_dict());
  unexpected["layer1.2.conv.weight"] = Tensor::zeros({4, 4, 3, 3});
  REQUIRE_THROWS_WITH(b.load_state_dict(unexpected),
                      Catch::Contains("unexpected") && Catch::Contains("layer1.2.conv.weight"));
  b.load_state_dict(unexpected, /*strict=*/false);  // non-strict ignores extra names

  auto wrong = as_map(a.state_dict());
  wrong["fc.weight"] = Tensor::zeros({3, 4});
  REQUIRE_THROWS_WITH(b.load_state_dict(wrong),
                      Catch::Contains("fc.weight") && Catch::Contains("(3, 4)") && Catch::Contains("(2, 4)"));
}

TEST_CASE("module: train()/eval() reach every submodule and switch batch norm", "[nn][module]") {
  Rng rng(73);
  Net net(rng);
  Tensor x = Tensor::randn({2, 3, 8, 8}, rng);
  net.eval();
  for (auto& [n, m] : net.named_modules()) CHECK_FALSE(m->is_training());
  const auto before = net.bn1->running_mean.to_vector();
  net.forward(x);
  CHECK(net.bn1->running_mean.to_vector() == before);  // eval: running statistics untouched
  net.train();
  for (auto& [n, m] : net.named_modules()) CHECK(m->is_training());
  net.forward(x);
  CHECK(net.bn1->running_mean.to_vector() != before);  // train: updated
  net.layer1->eval();                                  // a subtree only
  CHECK(net.bn1->is_training());
  CHECK_FALSE(net.layer1->operator[](0).is_training());
}

TEST_CASE("module: a frozen backbone gets no gradients and records no graph", "[nn][module][autograd]") {
  Rng rng(74);
  Net net(rng);
  net.requires_grad_(false);
  CHECK(net.trainable_parameters().empty());
  Tensor x = Tensor::randn({2, 3, 8, 8}, rng);
  Tensor y = net.forward(x);
  CHECK(y.grad_fn() == nullptr);  // nothing recorded anywhere
  CHECK_FALSE(y.requires_grad());

  // Transfer learning: unfreeze only the head.
  net.fc->requires_grad_(true);
  CHECK(net.trainable_parameters().size() == 2);
  Tensor logits = net.forward(x);
  REQUIRE(logits.grad_fn() != nullptr);
  CHECK(logits.grad_fn()->inputs.size() == 2);  // fc.weight and fc.bias only: the features carry no graph
  cross_entropy(logits, {0, 1}).backward();
  CHECK(net.fc->weight.grad().defined());
  CHECK(net.fc->bias.grad().defined());
  for (auto& [n, p] : net.named_parameters())
    if (n.rfind("fc.", 0) != 0) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("module: SkipInit builds layers at zero without drawing, and only in its scope", "[nn][module]") {
  Rng a(7), b(7);
  auto all_zero = [](const Tensor& t) {
    for (float v : t.to_vector())
      if (v != 0.f) return false;
    return true;
  };
  {
    const SkipInit skip;
    CHECK(init_skipped());
    Conv2d conv(3, 8, 3, 1, 1, /*bias=*/true, a);
    Linear fc(16, 4, /*bias=*/true, a);
    CHECK(conv.weight.shape() == Shape{8, 3, 3, 3});
    CHECK(all_zero(conv.weight));
    CHECK(all_zero(conv.bias));
    CHECK(all_zero(fc.weight));
    {
      const SkipInit nested;  // a nested scope ends without ending the outer one
    }
    CHECK(init_skipped());
  }
  CHECK_FALSE(init_skipped());
  // The Rng was not advanced: the next draws are those of an untouched Rng.
  CHECK(a.uniform() == b.uniform());
  Conv2d conv(3, 8, 3, 1, 1, /*bias=*/true, a);
  CHECK_FALSE(all_zero(conv.weight));
  // A network built at zero and loaded gives exactly the loaded values.
  Linear src(16, 4, true, b);
  std::unique_ptr<Linear> dst;
  {
    const SkipInit skip;
    dst = std::make_unique<Linear>(16, 4, true, a);
  }
  std::map<std::string, Tensor> state;
  for (auto& [n, t] : src.state_dict()) state.emplace(n, t);
  dst->load_state_dict(state);
  CHECK(dst->weight.to_vector() == src.weight.to_vector());
  CHECK(dst->bias.to_vector() == src.bias.to_vector());
}
