// `scratchnet summary` (models/summary.h) and the parameter counts in `train`'s
// header: torchvision's parameter counts (from tests/fixtures/resnet.json,
// written by torch), output shapes equal to a real forward pass, containers
// adding up, and what a run trains.
#include <sys/wait.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/resnet.h"
#include "models/summary.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/trainer.h"

using namespace sn;
using nlohmann::json;

namespace {

std::pair<int, std::string> run_cli(const std::string& args, bool stdout_only = false) {
  const std::string cmd = std::string(SN_BINARY_DIR) + "/scratchnet " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const models::SummaryRow& row(const models::ModelSummary& s, const std::string& name) {
  for (const auto& r : s.rows)
    if (r.name == name) return r;
  FAIL("no row " << name);
  throw;
}

}  // namespace

TEST_CASE("summary: torchvision's parameter counts, ResNet-50 25,557,032 and ResNet-18 11,689,512", "[use][summary]") {
  const auto fx = test::load_fixture("resnet");
  for (const std::string arch : {"resnet50", "resnet18"}) {
    models::ResNetConfig cfg;
    cfg.arch = arch;
    Rng rng(0);
    const models::ResNet net(cfg, rng);
    const auto s = models::summarize(net);
    INFO(arch);
    CHECK(s.total == static_cast<int64_t>(fx.number(arch + "/num_parameters")));
    CHECK(s.trainable == s.total);  // a fresh model trains everything
    CHECK(s.rows.front().output == Shape{1, 1000});
    CHECK(row(s, "conv1").output == Shape{1, 64, 112, 112});
    CHECK(row(s, "maxpool").output == Shape{1, 64, 56, 56});
    CHECK(row(s, "layer4").output == Shape{1, arch == "resnet50" ? 2048 : 512, 7, 7});
    CHECK(row(s, "fc").params == (arch == "resnet50" ? 2049000 : 513000));
    // Conv + linear multiply-adds of one 224x224 image (torchinfo: 4.09 G and 1.81 G).
    CHECK(s.mult_adds == (arch == "resnet50" ? 4089184256LL : 1814073344LL));
  }
  models::ResNetConfig cfg;
  Rng rng(0);
  const auto text = models::summarize(models::ResNet(cfg, rng)).text();
  CHECK(text.find("Total params: 25,557,032") != std::string::npos);
  CHECK(text.find("├─conv1 (Conv2d)") != std::string::npos);
  CHECK(text.find("│    │    ├─conv2 (Conv2d)") != std::string::npos);
  CHECK(text.find("Multiply-adds (convolutions and linear layers): 4.09 G") != std::string::npos);
}

TEST_CASE("summary: every module in order, containers add up, shapes equal a real forward pass", "[use][summary]") {
  for (const std::string arch : {"resnet18", "resnet50"}) {
    INFO(arch);
    models::ResNetConfig cfg;
    cfg.arch = arch;
    cfg.width = 8;
    cfg.num_classes = 3;
    cfg.block_stride = arch == "resnet50" ? models::BlockStride::V1 : models::BlockStride::V1_5;
    Rng rng(1);
    models::ResNet net(cfg, rng);
    net.layer3->requires_grad_(false);
    const auto s = models::summarize(net, 64);
    // The rows are the modules, in registration order.
    const auto modules = net.named_modules();
    REQUIRE(s.rows.size() == modules.size());
    for (size_t i = 0; i < modules.size(); ++i) CHECK(s.rows[i].name == modules[i].first);
    // A container's count is the sum of its direct children's.
    for (size_t i = 0; i < s.rows.size(); ++i) {
      int64_t children = 0;
      for (size_t j = i + 1; j < s.rows.size() && s.rows[j].depth > s.rows[i].depth; ++j)
        if (s.rows[j].depth == s.rows[i].depth + 1) children += s.rows[j].params;
      if (!s.rows[i].leaf) CHECK(children == s.rows[i].params);
    }
    CHECK(s.total == nn::count_parameters(net));
    CHECK(s.trainable == s.total - nn::count_parameters(*net.layer3));
    CHECK(row(s, "layer3").trainable == 0);
    // Stage by stage, the shapes of a real forward on a (1, 3, 64, 64) input.
    net.eval();
    NoGradGuard no_grad;
    Tensor h = Tensor::zeros({1, 3, 64, 64});
    for (const char* stage : {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"}) {
      h = net.submodule(stage)->forward(h);
      INFO(stage);
      CHECK(row(s, stage).output == h.shape());
    }
    CHECK(row(s, "fc").output == net.forward(Tensor::zeros({1, 3, 64, 64})).shape());
    // Inside a downsampling block (its shortcut starts from the block's input).
    Tensor x = net.layer1->forward(
        net.maxpool->forward(net.relu->forward(net.bn1->forward(net.conv1->forward(Tensor::zeros({1, 3, 64, 64}))))));
    CHECK(row(s, "layer2.0.downsample").output == net.layer2->submodule("0.downsample")->forward(x).shape());
    CHECK(row(s, "layer2.0.conv1").output == net.layer2->submodule("0.conv1")->forward(x).shape());
  }
}

TEST_CASE("summary and train: a run trains its head only, and says how many parameters", "[use][summary][train]") {
  const std::string run = test::fresh_run_dir("summary_run");
  const auto c = test::tiny_config(run);
  auto [rc, out] = run_cli("train --data '" + c.data + "' --out '" + run + "' --model resnet18 --weights '" +
                           c.weights + "' --epochs 1 --batch-size 4 --resize 40 --crop 32 --device cpu");
  INFO(out);
  REQUIRE(rc == 0);
  // Width 8: 64 features, so the head Linear(64, 2) has 130 parameters.
  models::ResNetConfig cfg;
  cfg.arch = "resnet18";
  cfg.width = 8;
  cfg.num_classes = 2;
  Rng rng(0);
  const int64_t total = nn::count_parameters(models::ResNet(cfg, rng));
  CHECK(out.find("parameters: 130 trainable of " + models::with_commas(total)) != std::string::npos);

  std::tie(rc, out) = run_cli("summary --run '" + run + "' --json", true);
  REQUIRE(rc == 0);
  const json j = json::parse(out);
  CHECK(j.at("total_params") == total);
  CHECK(j.at("trainable_params") == 130);
  CHECK(j["layers"][0]["output_shape"] == json({1, 2}));
  std::tie(rc, out) = run_cli("summary --run '" + run + "'");
  CHECK(rc == 0);
  CHECK(out.find("Trainable params: 130") != std::string::npos);

  // The CLI's other sources, and a contradiction.
  std::tie(rc, out) = run_cli("summary --model resnet18 --depth 1");
  CHECK(rc == 0);
  CHECK(out.find("Total params: 11,689,512") != std::string::npos);
  CHECK(out.find("layer1 (Sequential)") != std::string::npos);
  CHECK(out.find("(BasicBlock)") == std::string::npos);  // depth 1 only
  std::tie(rc, out) = run_cli("summary --weights '" + c.weights + "' --json", true);
  CHECK(rc == 0);
  CHECK(json::parse(out)["layers"][0]["output_shape"] == json({1, 10}));
  std::tie(rc, out) = run_cli("summary --run '" + run + "' --model resnet50");
  CHECK(rc != 0);
}
