// VGG-16 and MobileNetV2 through the whole experiment on tiny runs (the
// reduced-width fixture networks of tests/fixtures, 32x32 crops, 16 photos):
// train in the textbook's mode (backbone in training mode: batch norm and
// dropout active) and with feature caching, resume, eval, export .snw, then
// predict --weights answering as predict --run; the CLI's --model and
// --train-layers for both.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "engine/data/folder.h"
#include "engine/io/weight_file.h"
#include "engine/nn/init.h"
#include "models/convert.h"
#include "models/summary.h"
#include "models/zoo.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/evaluator.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/trained_model.h"
#include "tools/experiment/trainer.h"

using namespace sn;
using namespace sn::train;

namespace {

// The fixture .pth converted to build/<name>-run.snw (once per process).
std::string fixture_weights(const std::string& name) {
  const std::string path = std::string(SN_BINARY_DIR) + "/" + name + "-run.snw";
  const models::Converted c = models::convert_pth(std::string(SN_SOURCE_DIR) + "/tests/fixtures/" + name + ".pth");
  io::write_weight_file(path, c.meta, c.tensors);
  return path;
}

std::pair<int, std::string> run_cli(const std::string& args) {
  std::string out;
  FILE* p = popen((std::string(SN_BINARY_DIR) + "/scratchnet " + args + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct Case {
  std::string arch, fixture, head;
};
const Case kCases[] = {{"vgg16", "vgg16_w2", "classifier.6"}, {"mobilenet_v2", "mobilenet_v2_w10", "classifier.1"}};

}  // namespace

TEST_CASE("vgg16, mobilenet_v2: train (textbook mode, then cached features), eval, export, predict",
          "[experiment][train][vgg][mobilenet]") {
  for (const Case& c : kCases) {
    INFO(c.arch);
    const std::string weights = fixture_weights(c.fixture);
    // The textbook's mode: batch norm and dropout of the frozen backbone in training mode.
    const std::string run = test::fresh_run_dir("backbone_" + c.arch);
    TrainConfig cfg = test::tiny_config(run);
    cfg.model = c.arch;
    cfg.weights = weights;
    cfg.epochs = 2;
    train::train(cfg);
    const auto list = list_checkpoints(RunPaths(run));
    REQUIRE(list.size() == 2);
    // The checkpoint holds the new head under the network's own head name, and the moved statistics.
    bool head = false;
    for (const auto& [name, t] : load_checkpoint(list.back().second).model) head = head || name == c.head + ".weight";
    CHECK(head);
    // Resume runs a third epoch from the second checkpoint.
    TrainConfig more;
    more.epochs = 3;
    more.quiet = true;
    more.workers = 0;
    train::resume(run, more);
    REQUIRE(list_checkpoints(RunPaths(run)).size() == 3);

    EvalOptions eo;
    eo.run = run;
    eo.quiet = true;
    eo.device = "cpu";
    const auto ev = evaluate_run(eo);
    CHECK(ev.at("checkpoints").size() == 3);
    CHECK(path_exists(RunPaths(run).report()));

    // Export: the backbone (checkpoint statistics) with the trained head in its own classifier's place.
    TrainedModel m = load_trained(run, "best");
    const ExportedWeights w = export_weights(m);
    CHECK(w.meta.architecture == c.arch);
    CHECK(w.meta.model.at("num_classes") == 2);
    CHECK(w.tensors.back().first == c.head + ".bias");
    const std::string out = run + "/exported.snw";
    io::write_weight_file(out, w.meta, w.tensors);
    const std::string photo = data::ImageFolder::scan(test::data_path("catanddog/test")).paths.at(0);
    const auto [rc, text] = run_cli("predict --weights '" + out + "' --json --device cpu '" + photo + "'");
    INFO(text);
    CHECK(rc == 0);
    const auto [rc2, text2] = run_cli("predict --run '" + run + "' --json --device cpu '" + photo + "'");
    INFO(text2);
    CHECK(rc2 == 0);
    const auto p1 = nlohmann::json::parse(text.substr(text.find('{')));
    const auto p2 = nlohmann::json::parse(text2.substr(text2.find('{')));
    REQUIRE(p1.at("images").size() == 1);
    REQUIRE(p2.at("images").size() == 1);
    // The exported network runs the same kernels in the same order as the run's transfer model: the same answer
    // (1e-6 leaves room for the JSON's decimal printing only).
    CHECK(p1.at("images")[0].at("index") == p2.at("images")[0].at("index"));
    CHECK(std::abs(p1.at("images")[0].at("probability").get<double>() -
                   p2.at("images")[0].at("probability").get<double>()) < 1e-6);
    const auto [rc3, text3] = run_cli("summary --run '" + run + "'");
    INFO(text3);
    CHECK(rc3 == 0);
    CHECK(text3.find("head " + c.head) != std::string::npos);

    // Feature caching: --freeze-bn --no-augment computes the features once (inference mode: no dropout).
    const std::string cached = test::fresh_run_dir("backbone_cache_" + c.arch);
    TrainConfig cc = test::tiny_config(cached);
    cc.model = c.arch;
    cc.weights = weights;
    cc.freeze_bn = true;
    cc.augment = false;
    cc.epochs = 2;
    REQUIRE(uses_feature_cache((resolve(cc), cc)));
    train::train(cc);
    bool features = false;
    for (const auto& r : read_jsonl(RunPaths(cached).metrics()))
      features = features || r.value("type", "") == "features";
    CHECK(features);
    for (const auto& [name, t] : load_checkpoint(RunPaths(cached).checkpoint(2)).model)
      CHECK(name.rfind(c.head + ".", 0) == 0);
  }
}

TEST_CASE("vgg16, mobilenet_v2: --train-layers names their layers, the CLI's --model",
          "[experiment][cli][vgg][mobilenet]") {
  TrainConfig cfg = test::tiny_config(test::fresh_run_dir("backbone_layers"));
  cfg.model = "mobilenet_v2";
  cfg.train_layers = {"features.18", "classifier.1"};
  resolve(cfg);
  CHECK(cfg.train_layers == std::vector<std::string>{"features.18", "classifier.1"});
  cfg.train_layers = {"features.18"};
  REQUIRE_THROWS_WITH(resolve(cfg), Catch::Contains("must include classifier.1"));
  cfg.train_layers = {"layer4", "classifier.1"};
  REQUIRE_THROWS_WITH(resolve(cfg), Catch::Contains("unknown layer 'layer4'"));
  cfg.model = "vgg16";
  cfg.train_layers = {};
  resolve(cfg);
  CHECK(cfg.train_layers == std::vector<std::string>{"classifier.6"});
  cfg.model = "vgg19";
  REQUIRE_THROWS_WITH(resolve(cfg), Catch::Contains("unknown --model 'vgg19'"));

  // Fine-tuning features.18 of MobileNetV2: it trains, its tensors are in the checkpoint.
  const std::string run = test::fresh_run_dir("backbone_finetune");
  TrainConfig ft = test::tiny_config(run);
  ft.model = "mobilenet_v2";
  ft.weights = fixture_weights("mobilenet_v2_w10");
  ft.train_layers = {"features.18", "classifier.1"};
  ft.epochs = 1;
  train::train(ft);
  bool tuned = false;
  for (const auto& [name, t] : load_checkpoint(RunPaths(run).checkpoint(1)).model)
    tuned = tuned || name == "features.18.0.weight";
  CHECK(tuned);

  for (const std::string arch : {"vgg16", "mobilenet_v2"}) {
    const auto [rc, text] = run_cli("summary --model " + arch + " --classes 2 --depth 1");
    INFO(text);
    CHECK(rc == 0);
    const nn::SkipInit skip;  // counting needs no values
    Rng rng(0);
    const int64_t params = nn::count_parameters(*models::make_classifier(arch, {{"num_classes", 2}}, rng));
    CHECK(text.find(models::with_commas(params)) != std::string::npos);
  }
}
