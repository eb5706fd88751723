// ResNet-18/50: torchvision's names, shapes, parameter counts and print(model);
// logits equal to PyTorch's on golden fixtures (tools/fixtures/make_model_fixtures.py).
#include <sys/stat.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "models/convert.h"
#include "models/resnet.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

// (N,C,H,W) -> (N,C,2H,2W), each pixel repeated 2x2 (the fixture's train-mode input).
Tensor upsample2(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor y = Tensor::empty({N, C, 2 * H, 2 * W});
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t h = 0; h < 2 * H; ++h)
      for (int64_t w = 0; w < 2 * W; ++w)
        y.data()[(nc * 2 * H + h) * 2 * W + w] = x.data()[(nc * H + h / 2) * W + w / 2];
  return y;
}

// The fixture model converted from its .pth, with the given layout options.
std::shared_ptr<models::ResNet> fixture_model(const std::string& name, models::BlockStride stride, double eps) {
  models::PthOptions o;
  o.block_stride = stride;
  o.bn_eps = eps;
  const models::Converted c = models::convert_pth(test::fixture_file(name + ".pth"), o);
  const std::string path = std::string(SN_BINARY_DIR) + "/" + name + (eps > 1e-4 ? "_v1" : "") + ".snw";
  io::write_weight_file(path, c.meta, c.tensors);
  return models::load_resnet(io::WeightFile(path));
}

// Relative error of logits, as a whole: ||a - b|| / ||b||. Float32 convolutions
// summing hundreds of products in a different order than PyTorch's differ by
// ~1e-6 relative per layer; through 18-50 layers that stays well below 1e-4,
// while any wrong stride, eps, name or layout gives errors of order 1.
double logits_error(const Tensor& got, const std::string& key) {
  const Tensor want = test::fixture_tensor("resnet", key);
  REQUIRE(got.shape() == want.shape());
  return test::rel_l2_error(got.to_vector(), want.to_vector());
}

void check_logits(const Tensor& got, const std::string& key) {
  const double err = logits_error(got, key);
  INFO(key << ": relative error " << err);
  CHECK(err < 1e-4);
  // And element by element, relative to the largest logit.
  const Tensor want = test::fixture_tensor("resnet", key);
  double worst = 0, scale = 0;
  const auto g = got.to_vector(), w = want.to_vector();
  for (size_t i = 0; i < g.size(); ++i) scale = std::max(scale, std::abs(double(w[i])));
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(double(g[i]) - w[i]) / scale);
  INFO(key << ": max |error| / max |logit| " << worst);
  CHECK(worst < 1e-4);
  std::cout << key << ": rel L2 " << err << ", max abs err / max |logit| " << worst << "\n";
}

// Train mode normalizes with batch statistics. In thin layers (the width-2
// ResNet-50 has 2-channel convs, some nearly constant after ReLU) that is
// ill-conditioned: PyTorch's own float32 logits are ~1.1e-4 away from its
// float64 ones. So the bar is exact (float64) arithmetic: scratchnet must be
// within 1e-4 of it, or no further from it than 1.5x PyTorch's float32 is.
void check_train_logits(const Tensor& got, const std::string& key) {
  const double ours = logits_error(got, key + "_f64");
  const double torch32 = test::rel_l2_error(test::fixture_tensor("resnet", key).to_vector(),
                                            test::fixture_tensor("resnet", key + "_f64").to_vector());
  std::cout << key << ": rel L2 to float64 " << ours << " (PyTorch float32: " << torch32 << "), to PyTorch float32 "
            << logits_error(got, key) << "\n";
  INFO(key << ": error to float64 " << ours << ", PyTorch float32's " << torch32);
  CHECK(ours < std::max(1e-4, 1.5 * torch32));
}

}  // namespace

TEST_CASE("resnet: parameter counts and state_dict names match torchvision", "[models][resnet]") {
  auto r18 = models::resnet18();
  auto r50 = models::resnet50();
  CHECK(nn::count_parameters(*r18) == 11689512);
  CHECK(nn::count_parameters(*r50) == 25557032);
  CHECK(nn::count_parameters(*r18) == test::fixture_json("resnet").at("resnet18/num_parameters").get<int64_t>());
  CHECK(nn::count_parameters(*r50) == test::fixture_json("resnet").at("resnet50/num_parameters").get<int64_t>());
  CHECK(r18->num_features() == 512);
  CHECK(r50->num_features() == 2048);

  // Order and names at reduced width (torchvision's state_dict has the int64
  // num_batches_tracked counters in addition, which scratchnet does not keep).
  for (const auto& [name, arch, width] :
       {std::tuple<std::string, std::string, int>{"resnet18_w4", "resnet18", 4}, {"resnet50_w2", "resnet50", 2}}) {
    models::ResNetConfig cfg;
    cfg.arch = arch;
    cfg.width = width;
    cfg.num_classes = 10;
    Rng rng(1);
    models::ResNet m(cfg, rng);
    std::vector<std::string> want;
    for (const auto& n : test::fixture_json("resnet").at(name + "/order"))
      if (n.get<std::string>().find("num_batches_tracked") == std::string::npos) want.push_back(n);
    std::vector<std::string> got;
    for (const auto& [n, t] : m.state_dict()) got.push_back(n);
    CHECK(got == want);
  }
}

TEST_CASE("resnet: print(model) is PyTorch's, character for character", "[models][resnet]") {
  CHECK(models::resnet18()->repr() == test::fixture_json("resnet").at("resnet18/repr").get<std::string>());
  CHECK(models::resnet50()->repr() == test::fixture_json("resnet").at("resnet50/repr").get<std::string>());
  models::ResNetConfig keras;
  keras.block_stride = models::BlockStride::V1;
  keras.bn_eps = 1e-3;
  Rng rng(0);
  CHECK(models::ResNet(keras, rng).repr() ==
        test::fixture_json("resnet").at("resnet50_v1_eps1e-3/repr").get<std::string>());
}

TEST_CASE("resnet: config JSON round trip and errors", "[models][resnet]") {
  models::ResNetConfig c;
  c.arch = "resnet18";
  c.num_classes = 7;
  c.width = 8;
  c.block_stride = models::BlockStride::V1;
  c.bn_eps = 1e-3;
  const auto back = models::ResNetConfig::from_json("resnet18", c.to_json());
  CHECK(back.num_classes == 7);
  CHECK(back.width == 8);
  CHECK(back.block_stride == models::BlockStride::V1);
  CHECK(back.bn_eps == 1e-3);
  REQUIRE_THROWS_WITH(models::ResNetConfig::from_json("resnet19", {}),
                      Catch::Contains("unknown architecture 'resnet19'"));
  REQUIRE_THROWS_WITH(models::ResNetConfig::from_json("resnet50", {{"block_stride", "v2"}}), Catch::Contains("v2"));
}

TEST_CASE("resnet18: logits equal PyTorch's (eval and train mode)", "[models][resnet][parity]") {
  auto m = fixture_model("resnet18_w4", models::BlockStride::V1_5, 1e-5);
  const Tensor x = test::fixture_tensor("resnet", "input");
  m->eval();
  {
    NoGradGuard no_grad;
    check_logits(m->forward(x), "resnet18_w4/logits_eval");
  }
  m->train();
  check_train_logits(m->forward(upsample2(x)), "resnet18_w4/logits_train");
  // Train mode updated the running statistics as PyTorch does (momentum 0.1, unbiased variance).
  CHECK(test::max_rel_error(m->bn1->running_mean.to_vector(),
                            test::fixture_tensor("resnet", "resnet18_w4/bn1.running_mean_after_train").to_vector()) <
        1e-4);
  CHECK(test::max_rel_error(m->bn1->running_var.to_vector(),
                            test::fixture_tensor("resnet", "resnet18_w4/bn1.running_var_after_train").to_vector()) <
        1e-4);
}

TEST_CASE("resnet50: logits equal PyTorch's (v1.5 eps 1e-5, v1 eps 1e-3, train mode)", "[models][resnet][parity]") {
  const Tensor x = test::fixture_tensor("resnet", "input");
  NoGradGuard no_grad;
  auto m = fixture_model("resnet50_w2", models::BlockStride::V1_5, 1e-5);
  m->eval();
  check_logits(m->forward(x), "resnet50_w2/logits_eval");
  m->train();
  check_train_logits(m->forward(upsample2(x)), "resnet50_w2/logits_train");
  auto v1 = fixture_model("resnet50_w2", models::BlockStride::V1, 1e-3);
  v1->eval();
  check_logits(v1->forward(x), "resnet50_w2/logits_eval_v1_eps1e-3");
}

TEST_CASE("resnet: replacing the classifier", "[models][resnet]") {
  models::ResNetConfig cfg;
  cfg.arch = "resnet18";
  cfg.width = 4;
  Rng rng(3);
  models::ResNet m(cfg, rng);
  m.reset_classifier(2, rng);
  CHECK(m.fc->out_features == 2);
  CHECK(m.config().num_classes == 2);
  CHECK(m.submodule("fc") == m.fc.get());
  CHECK(m.state_dict().back().second.shape() == Shape{2});  // fc.bias
  CHECK(m.repr().find("(fc): Linear(in_features=32, out_features=2, bias=True)") != std::string::npos);
  NoGradGuard no_grad;
  m.eval();
  CHECK(m.forward(Tensor::zeros({1, 3, 32, 32})).shape() == Shape{1, 2});
  REQUIRE_THROWS_WITH(m.replace_fc(std::make_shared<nn::Linear>(5, 2, true, rng)), Catch::Contains("32 features"));
}

TEST_CASE("convert pth: architecture, width and classes inferred, mismatches named", "[models][convert]") {
  const auto c = models::convert_pth(test::fixture_file("resnet18_w4.pth"));
  CHECK(c.meta.architecture == "resnet18");
  CHECK(c.meta.model.at("width") == 4);
  CHECK(c.meta.model.at("num_classes") == 10);
  CHECK(c.meta.model.at("block_stride") == "v1.5");
  CHECK(c.meta.preprocessing.channel_order == "RGB");
  REQUIRE(c.notes.size() == 1);
  CHECK(c.notes[0].find("dropped 20 int64 num_batches_tracked") != std::string::npos);
  CHECK(models::convert_pth(test::fixture_file("resnet50_w2.pth")).meta.architecture == "resnet50");
  models::PthOptions o;
  o.arch = "resnet50";
  REQUIRE_THROWS_WITH(models::convert_pth(test::fixture_file("resnet18_w4.pth"), o),
                      Catch::Contains("resnet18_w4.pth") && Catch::Contains("holds a resnet18"));
  // A state_dict that is not a ResNet: names the file and the problem.
  REQUIRE_THROWS_WITH(models::convert_pth(test::fixture_file("pth_small.pth")), Catch::Contains("pth_small.pth"));
}

// ---- Keras -> torchvision ------------------------------------------------------------

namespace {

// torchvision module name -> old Keras layer name (keras_applications' ResNet50).
std::string keras_name(const std::string& mod) {
  if (mod == "conv1") return "conv1";
  if (mod == "bn1") return "bn_conv1";
  if (mod == "fc") return "fc1000";
  std::smatch m;
  REQUIRE(std::regex_match(mod, m, std::regex(R"(layer(\d)\.(\d+)\.(conv|bn|downsample\.)(\d))")));
  const std::string block = std::to_string(std::stoi(m[1]) + 1) + char('a' + std::stoi(m[2]));
  if (m[3] == "downsample.") return (m[4] == "0" ? "res" : "bn") + block + "_branch1";
  return (m[3] == "conv" ? "res" : "bn") + block + "_branch2" + char('a' + std::stoi(m[4]) - 1);
}

// Writes the fixture's ResNet-50 as a Keras TF.js model: HWIO kernels, a
// random bias on every conv (compensated in the batch-norm means, so the
// network computes the same function), v1 strides, eps 1e-3.
std::string write_keras_model(const nn::NamedTensors& sd, const std::string& dir, Rng& rng) {
  ::mkdir(dir.c_str(), 0755);
  nlohmann::json layers = nlohmann::json::array(), weights = nlohmann::json::array();
  std::string shard;
  auto add = [&](const std::string& name, const Tensor& t) {
    weights.push_back({{"name", name}, {"shape", t.shape()}, {"dtype", "float32"}});
    shard.append(reinterpret_cast<const char*>(t.data()), t.nbytes());
  };
  std::map<std::string, Tensor> by_name(sd.begin(), sd.end());
  std::map<std::string, Tensor> bias;  // bn module -> the bias of the conv before it
  for (const auto& [name, t] : sd) {
    const std::string mod = name.substr(0, name.rfind('.')), param = name.substr(name.rfind('.') + 1);
    const std::string k = keras_name(mod);
    if (t.ndim() == 4) {  // conv: OIHW -> HWIO, plus a bias
      const int64_t O = t.size(0), I = t.size(1), H = t.size(2), W = t.size(3);
      Tensor hwio = Tensor::empty({H, W, I, O});
      for (int64_t o = 0; o < O; ++o)
        for (int64_t i = 0; i < I; ++i)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w)
              hwio.data()[((h * W + w) * I + i) * O + o] = t.data()[((o * I + i) * H + h) * W + w];
      add(k + "/kernel", hwio);
      Tensor b = Tensor::uniform({O}, rng, -0.5f, 0.5f);
      add(k + "/bias", b);
      const std::string bn = mod == "conv1"      ? "bn1"
                             : mod.back() == '0' ? mod.substr(0, mod.size() - 1) + "1"
                                                 : mod.substr(0, mod.size() - 5) + "bn" + mod.back();
      bias[bn] = b;
      int stride = mod == "conv1" ? 2 : 1;
      if (mod.find(".0.") == 6 && mod[5] != '1' &&
          (mod.find("conv1") != std::string::npos || mod.find("downsample") != std::string::npos))
        stride = 2;  // v1: layer2-4 block 0 strides in conv1 and the shortcut
      layers.push_back({{"name", k},
                        {"class_name", "Conv2D"},
                        {"config", {{"strides", {stride, stride}}}},
                        {"inbound_nodes", nlohmann::json::array()}});
    } else if (mod == "fc") {
      if (param == "weight") {
        const int64_t O = t.size(0), I = t.size(1);
        Tensor kernel = Tensor::empty({I, O});
        for (int64_t o = 0; o < O; ++o)
          for (int64_t i = 0; i < I; ++i) kernel.data()[i * O + o] = t.data()[o * I + i];
        add(k + "/kernel", kernel);
        layers.push_back({{"name", k}, {"class_name", "Dense"}, {"config", {{"activation", "softmax"}}}});
      } else {
        add(k + "/bias", t);
      }
    } else {  // batch norm
      static const std::map<std::string, std::string> names = {
          {"weight", "gamma"}, {"bias", "beta"}, {"running_mean", "moving_mean"}, {"running_var", "moving_variance"}};
      Tensor v = t;
      if (param == "running_mean") {  // BN(conv(x) + b) with mean + b == BN(conv(x)) with mean
        v = t.clone();
        for (int64_t i = 0; i < v.numel(); ++i) v.data()[i] += bias.at(mod).data()[i];
      }
      add(k + "/" + names.at(param), v);
      if (param == "weight") {
        const std::string conv = mod == "bn1" ? "conv1"
                                 : mod.back() == '1' && mod.find("downsample") != std::string::npos
                                     ? mod.substr(0, mod.size() - 1) + "0"
                                     : mod.substr(0, mod.size() - 3) + "conv" + mod.back();
        layers.push_back({{"name", k},
                          {"class_name", "BatchNormalization"},
                          {"config", {{"epsilon", 0.001}}},
                          {"inbound_nodes", {{{keras_name(conv), 0, 0, nlohmann::json::object()}}}}});
      }
    }
  }
  io::write_file_atomic(dir + "/group1-shard1of1.bin", shard);
  const nlohmann::json model = {
      {"format", "layers-model"},
      {"modelTopology",
       {{"keras_version", "test"}, {"model_config", {{"class_name", "Model"}, {"config", {{"layers", layers}}}}}}},
      {"weightsManifest", {{{"paths", {"group1-shard1of1.bin"}}, {"weights", weights}}}}};
  io::write_file_atomic(dir + "/model.json", model.dump());
  return dir;
}

}  // namespace

TEST_CASE("convert keras: a Keras-layout ResNet-50 converts back to torchvision's, same logits",
          "[models][convert][parity]") {
  const auto src = models::convert_pth(test::fixture_file("resnet50_w2.pth"));
  Rng rng(5);
  const std::string dir = write_keras_model(src.tensors, std::string(SN_BINARY_DIR) + "/keras_r50_w2", rng);
  const models::Converted c = models::convert_keras_resnet(io::read_tfjs(dir));
  CHECK(c.meta.architecture == "resnet50");
  CHECK(c.meta.model.at("block_stride") == "v1");
  CHECK(c.meta.model.at("bn_eps") == 0.001);
  CHECK(c.meta.model.at("width") == 2);
  CHECK(c.meta.preprocessing.channel_order == "BGR");
  CHECK(c.meta.preprocessing.mean[2] == 123.68);
  REQUIRE(c.tensors.size() == src.tensors.size());
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    INFO(c.tensors[i].first);
    CHECK(c.tensors[i].first == src.tensors[i].first);
    // Kernels are permuted (exact); means went through +b then -b (float rounding: |b| <= 0.5, so <= 3e-8).
    CHECK(test::max_rel_error(c.tensors[i].second.to_vector(), src.tensors[i].second.to_vector(), 1.0) < 1e-6);
  }
  const std::string path = std::string(SN_BINARY_DIR) + "/keras_r50_w2.snw";
  io::write_weight_file(path, c.meta, c.tensors);
  auto m = models::load_resnet(io::WeightFile(path));
  m->eval();
  NoGradGuard no_grad;
  check_logits(m->forward(test::fixture_tensor("resnet", "input")), "resnet50_w2/logits_eval_v1_eps1e-3");
}

TEST_CASE("convert keras: wrong strides or foreign layers are named errors", "[models][convert]") {
  const auto src = models::convert_pth(test::fixture_file("resnet50_w2.pth"));
  Rng rng(6);
  const std::string dir = write_keras_model(src.tensors, std::string(SN_BINARY_DIR) + "/keras_bad", rng);
  nlohmann::json j;
  {
    std::ifstream in(dir + "/model.json");
    j = nlohmann::json::parse(in);
  }
  SECTION("a stride in the wrong place") {
    for (auto& l : j["modelTopology"]["model_config"]["config"]["layers"])
      if (l["name"] == "res4b_branch2b") l["config"]["strides"] = {2, 2};
    io::write_file_atomic(dir + "/model.json", j.dump());
    REQUIRE_THROWS_WITH(models::convert_keras_resnet(io::read_tfjs(dir)), Catch::Contains("model.json") &&
                                                                              Catch::Contains("'res4b_branch2b'") &&
                                                                              Catch::Contains("stride 2"));
  }
  SECTION("a layer that is not part of a ResNet") {
    j["weightsManifest"][0]["weights"][0]["name"] = "dense_7/kernel";
    io::write_file_atomic(dir + "/model.json", j.dump());
    REQUIRE_THROWS_WITH(models::convert_keras_resnet(io::read_tfjs(dir)), Catch::Contains("'dense_7/kernel'"));
  }
}
