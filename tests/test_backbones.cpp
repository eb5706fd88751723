// VGG-16 and MobileNetV2: torchvision's state_dict names, parameter counts and
// print(model); logits equal to PyTorch's on golden fixtures
// (tools/fixtures/make_backbone_fixtures.py) in eval and train mode; the .pth
// import (architecture and options recognised, tensors bit-identical, a round
// trip through the .snw exporter bit-identical); the transfer model's feature
// stages (a flatten and a functional pool between modules, dropout following
// the phase); the layer-by-layer summary.
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/io/crc32.h"
#include "engine/io/pth_reader.h"
#include "engine/io/weight_file.h"
#include "engine/nn/init.h"
#include "models/convert.h"
#include "models/mobilenet_v2.h"
#include "models/summary.h"
#include "models/vgg.h"
#include "models/zoo.h"
#include "tests/helpers.h"
#include "tools/experiment/transfer_model.h"

using namespace sn;

namespace {

// The generator's fixture_input(): x[i] = sin(0.75 i + 0.1) + 0.5 cos(i / 64), float64 rounded to float32
// (the products are exact, so a compiler's fused multiply-add gives the same doubles as Python's).
Tensor fixture_input() {
  std::vector<float> v(2 * 3 * 96 * 96);
  for (size_t i = 0; i < v.size(); ++i) {
    const double d = static_cast<double>(i);
    v[i] = static_cast<float>(std::sin(0.75 * d + 0.1) + 0.5 * std::cos(d / 64.0));
  }
  return Tensor::from_vector(v, {2, 3, 96, 96});
}

uint32_t crc_of(const Tensor& t) { return io::crc32(t.data(), static_cast<size_t>(t.numel()) * sizeof(float)); }

// The fixture network converted from its .pth and read back from a .snw; `dropout` >= 0 replaces its rate.
std::shared_ptr<models::Classifier> converted(const std::string& name, double dropout = -1) {
  models::Converted c = models::convert_pth(test::fixture_file(name + ".pth"));
  if (dropout >= 0) c.meta.model["dropout"] = dropout;
  const std::string path = std::string(SN_BINARY_DIR) + "/" + name + ".snw";
  io::write_weight_file(path, c.meta, c.tensors);
  return models::load_classifier(io::WeightFile(path));
}

// As test_resnet.cpp: float32 sums in another order than PyTorch's differ by
// ~1e-6 relative per layer, far below 1e-4 through 16-53 layers, while a wrong
// stride, group, padding, bin or name gives errors of order 1.
void check_logits(const Tensor& got, const std::string& key) {
  const Tensor want = test::fixture_tensor("backbones", key);
  REQUIRE(got.shape() == want.shape());
  const double err = test::rel_l2_error(got.to_vector(), want.to_vector());
  std::cout << key << ": rel L2 " << err << "\n";
  INFO(key << ": relative error " << err);
  CHECK(err < 1e-4);
}

// Train-mode batch norm in 2..32-channel layers is ill-conditioned (PyTorch's
// own float32 logits stray from its float64 ones): the bar is float64, within
// 1e-4 or no further than 1.5x PyTorch's float32 (as test_resnet.cpp).
void check_train_logits(const Tensor& got, const std::string& key) {
  const double ours = test::rel_l2_error(got.to_vector(), test::fixture_tensor("backbones", key + "_f64").to_vector());
  const double torch32 = test::rel_l2_error(test::fixture_tensor("backbones", key).to_vector(),
                                            test::fixture_tensor("backbones", key + "_f64").to_vector());
  std::cout << key << ": rel L2 to float64 " << ours << " (PyTorch float32: " << torch32 << ")\n";
  INFO(key << ": error to float64 " << ours << ", PyTorch float32's " << torch32);
  CHECK(ours < std::max(1e-4, 1.5 * torch32));
}

std::vector<std::string> names_of(const nn::NamedTensors& t) {
  std::vector<std::string> out;
  for (const auto& [n, v] : t) out.push_back(n);
  return out;
}

const models::SummaryRow& row(const models::ModelSummary& s, const std::string& name) {
  for (const auto& r : s.rows)
    if (r.name == name) return r;
  FAIL("no summary row " << name);
  return s.rows.front();
}

}  // namespace

TEST_CASE("vgg16, mobilenet_v2: torchvision's names, parameter counts, print(model) and the summary",
          "[models][vgg][mobilenet]") {
  for (const std::string arch : {"vgg16", "mobilenet_v2"}) {
    const nn::SkipInit skip;  // names, counts and shapes need no values (VGG-16's 138M draws: ~6 s)
    Rng rng(1);
    const auto net = models::make_classifier(arch, {}, rng);
    INFO(arch);
    CHECK(nn::count_parameters(*net) == test::fixture_json("backbones").at(arch + "/num_parameters").get<int64_t>());
    CHECK(names_of(net->state_dict()) ==
          test::fixture_json("backbones").at(arch + "/order").get<std::vector<std::string>>());
    CHECK(net->repr() == test::fixture_json("backbones").at(arch + "/repr").get<std::string>());
    CHECK(net->num_features() == (arch == "vgg16" ? 4096 : 1280));

    const models::ModelSummary s = models::summarize(*net, 224);
    CHECK(s.total == nn::count_parameters(*net));
    CHECK(row(s, "").output == Shape{1, 1000});
    CHECK(row(s, "classifier").output == Shape{1, 1000});
    if (arch == "vgg16") {
      CHECK(row(s, "features").output == Shape{1, 512, 7, 7});
      CHECK(row(s, "avgpool").output == Shape{1, 512, 7, 7});
      CHECK(row(s, "classifier.0").output == Shape{1, 4096});
    } else {
      CHECK(row(s, "features.1.conv.0.0").output == Shape{1, 32, 112, 112});  // depthwise, stride 1
      CHECK(row(s, "features.2.conv.1.0").output == Shape{1, 96, 56, 56});    // depthwise, stride 2
      CHECK(row(s, "features.18").output == Shape{1, 1280, 7, 7});
      CHECK(row(s, "classifier.0").output == Shape{1, 1280});
    }
  }
}

TEST_CASE("vgg16: logits equal PyTorch's (eval, and train mode with dropout 0)", "[models][vgg][parity]") {
  const Tensor x = fixture_input();
  REQUIRE(crc_of(x) ==
          test::fixture_json("backbones").at("input_crc32").get<uint32_t>());  // the same input as the generator's
  NoGradGuard no_grad;
  auto m = converted("vgg16_w2");
  m->eval();
  check_logits(m->forward(x), "vgg16_w2/logits_eval");
  // VGG-16 has no batch norm: train mode differs by dropout alone, p = 0 here.
  auto t = converted("vgg16_w2", 0.0);
  t->train();
  check_train_logits(t->forward(x), "vgg16_w2/logits_train");
  // With dropout on, train mode is random: not PyTorch's numbers, but not eval's either.
  m->train();
  CHECK(test::rel_l2_error(m->forward(x).to_vector(),
                           test::fixture_tensor("backbones", "vgg16_w2/logits_eval").to_vector()) > 1e-3);
}

TEST_CASE("mobilenet_v2: logits equal PyTorch's (eval, and train mode with dropout 0)", "[models][mobilenet][parity]") {
  const Tensor x = fixture_input();
  NoGradGuard no_grad;
  auto m = converted("mobilenet_v2_w10");
  m->eval();
  check_logits(m->forward(x), "mobilenet_v2_w10/logits_eval");
  auto t = converted("mobilenet_v2_w10", 0.0);
  t->train();
  check_train_logits(t->forward(x), "mobilenet_v2_w10/logits_train");
  // Train mode moved the running statistics as PyTorch does (momentum 0.1, unbiased variance).
  auto* bn = dynamic_cast<nn::BatchNorm2d*>(t->submodule("features.1.conv.0.1"));
  REQUIRE(bn);
  const std::string key = "mobilenet_v2_w10/features.1.conv.0.1.";
  const Tensor mean = test::fixture_tensor("backbones", key + "running_mean_after_train");
  const Tensor var = test::fixture_tensor("backbones", key + "running_var_after_train");
  CHECK(test::max_rel_error(bn->running_mean.to_vector(), mean.to_vector()) < 1e-4);
  CHECK(test::max_rel_error(bn->running_var.to_vector(), var.to_vector()) < 1e-4);
}

TEST_CASE("convert pth: VGG-16 and MobileNetV2 recognised, options inferred, tensors bit-identical",
          "[models][convert]") {
  const models::Converted v = models::convert_pth(test::fixture_file("vgg16_w2.pth"));
  CHECK(v.meta.architecture == "vgg16");
  CHECK(v.meta.model.at("width") == 2);
  CHECK(v.meta.model.at("hidden") == 16);
  CHECK(v.meta.model.at("num_classes") == 10);
  const models::Converted m = models::convert_pth(test::fixture_file("mobilenet_v2_w10.pth"));
  CHECK(m.meta.architecture == "mobilenet_v2");
  CHECK(m.meta.model.at("last_channel") == 32);
  CHECK(m.meta.model.at("num_classes") == 10);
  for (const auto* c : {&v, &m}) {
    const std::string name = c == &v ? "vgg16_w2" : "mobilenet_v2_w10";
    const auto& crcs = test::fixture_json("backbones").at(name + "/crc32");
    for (const auto& [n, t] : c->tensors) {
      INFO(name << " " << n);
      CHECK(crc_of(t) == crcs.at(n).get<uint32_t>());
    }
  }
  models::PthOptions o;
  o.arch = "resnet18";
  REQUIRE_THROWS_WITH(models::convert_pth(test::fixture_file("vgg16_w2.pth"), o), Catch::Contains("holds a vgg16"));
  // A missing or misshapen tensor is named.
  std::map<std::string, Tensor> t(v.tensors.begin(), v.tensors.end());
  t.erase("features.28.bias");
  Rng rng(0);
  const auto net = models::make_classifier("vgg16", v.meta.model, rng);
  REQUIRE_THROWS_WITH(models::match_model(*net, "vgg16", t, "x.pth"),
                      Catch::Contains("missing tensor 'features.28.bias'"));
  REQUIRE_THROWS_WITH(models::make_classifier("vgg19", {}, rng), Catch::Contains("unknown architecture 'vgg19'"));
  REQUIRE_THROWS_WITH(models::make_classifier("mobilenet_v2", {{"width_mult", -1}}, rng),
                      Catch::Contains("bad MobileNetV2 options"));
}

TEST_CASE(".pth round trip: import, export as .snw, read back: every tensor bit-identical to the .pth's",
          "[models][convert][export]") {
  for (const std::string name : {"vgg16_w2", "mobilenet_v2_w10"}) {
    INFO(name);
    const auto net = converted(name);  // import: .pth -> .snw -> the network
    io::WeightMeta meta;
    meta.architecture = net->architecture();
    meta.model = net->options();
    const std::string out = std::string(SN_BINARY_DIR) + "/" + name + "_roundtrip.snw";
    io::write_weight_file(out, meta, net->state_dict());  // the exporter `scratchnet export` writes with
    const auto back = models::load_classifier(io::WeightFile(out));
    std::map<std::string, Tensor> got;
    for (const auto& [n, t] : back->state_dict()) got[n] = t;
    size_t compared = 0;
    for (const auto& t : io::read_pth(test::fixture_file(name + ".pth")).tensors) {
      if (!t.value.defined()) continue;  // num_batches_tracked: int64, not kept
      REQUIRE(got.count(t.name));
      REQUIRE(got[t.name].shape() == t.value.shape());
      CHECK(std::memcmp(got[t.name].data(), t.value.data(), t.value.nbytes()) == 0);
      ++compared;
    }
    CHECK(compared == got.size());
  }
}

TEST_CASE(
    "transfer model: the feature stages and the network's own head give the network's logits, dropout "
    "follows the phase",
    "[models][train][vgg][mobilenet]") {
  const Tensor x = fixture_input().slice(0, 1);
  for (const std::string name : {"vgg16_w2", "mobilenet_v2_w10"}) {
    INFO(name);
    auto net = converted(name);
    train::TrainConfig cfg;
    cfg.model = net->architecture();
    cfg.train_layers = {net->head_name()};
    cfg.freeze_bn = true;
    Rng rng(0);
    train::TransferModel tm(net, 10, cfg, rng);
    auto* own = dynamic_cast<nn::Linear*>(net->submodule(net->head_name()));
    REQUIRE(own);
    tm.head_module().weight.copy_(own->weight);
    tm.head_module().bias.copy_(own->bias);
    NoGradGuard no_grad;
    tm.set_phase(false);
    net->eval();
    const Tensor f = tm.features(x);
    CHECK(f.shape() == Shape{1, net->num_features()});
    if (const auto snap = net->feature_snapshot(false, false)) {
      // The frozen backbone runs the network's snapshot (FusedVGG, FusedMobileNetV2): equal to the bit
      // to the snapshot itself, and to the network's forward up to float rounding (batch norm folded,
      // the convs' summation order; test_fused_vgg.cpp, test_fused_mobilenet_v2.cpp).
      CHECK(f.to_vector() == snap->features(x).to_vector());
      CHECK(test::rel_l2_error(tm.forward(x).to_vector(), net->forward(x).to_vector()) < 1e-5);
    } else {
      // The same kernels on the same shapes in the same order: equal to the bit.
      CHECK(tm.forward(x).to_vector() == net->forward(x).to_vector());
    }
    // --freeze-bn training: the backbone in inference mode, no dropout.
    tm.set_phase(true);
    CHECK(tm.features(x).to_vector() == f.to_vector());
    // The textbook's training phase (the whole backbone in training mode): its dropout drops.
    train::TrainConfig textbook = cfg;
    textbook.freeze_bn = false;
    train::TransferModel tt(net, 10, textbook, rng);
    tt.set_phase(true);
    CHECK(tt.features(x).to_vector() != tt.features(x).to_vector());
  }
}
