// `scratchnet summary`: a model layer by layer, as torchinfo's summary() shows
// a PyTorch model (models/summary.h): output shape for one 224x224 image,
// parameters, whether they train, totals.
//
//   scratchnet summary                          torchvision's ResNet-50 (1000 classes): 25,557,032 parameters
//   scratchnet summary --model resnet18        (or vgg16, mobilenet_v2, ...)
//   scratchnet summary --weights FILE.snw       the architecture a weight file holds (its classes, width)
//   scratchnet summary --run RUN_DIR            what a run trains: the backbone frozen, the new head (and any
//                                               --train-layers) trainable
#include <cstdio>
#include <memory>

#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "engine/nn/init.h"
#include "models/resnet.h"
#include "models/summary.h"
#include "models/zoo.h"
#include "tools/experiment/trained_model.h"
#include "tools/scratchnet/commands.h"

namespace {

struct Options {
  std::string model = "resnet50", weights, run, epoch = "last";
  int classes = 1000, size = 0, depth = -1;
  bool json = false;
};

int run_summary(const Options& o) {
  using namespace sn;
  std::shared_ptr<models::Classifier> net;
  std::string what;
  int size = o.size > 0 ? o.size : 224;
  if (!o.run.empty()) {
    const train::TrainedModel m = train::load_trained(o.run, o.epoch);
    net = train::to_classifier(train::export_weights(m));
    // Trainable as in the run: the new head and any --train-layers.
    net->requires_grad_(false);
    for (const auto& l : train::trainable_layer_names(m.cfg.model))
      if (train::trains_layer(m.cfg, l)) net->submodule(l)->requires_grad_(true);
    std::string layers;
    for (const auto& l : m.cfg.train_layers) layers += (layers.empty() ? "" : ",") + l;
    what = "run " + o.run + " (epoch " + std::to_string(m.epoch) + "): " + m.cfg.model + " backbone, head " +
           net->head_name() + " -> " + std::to_string(m.classes.size()) + " classes; trains " + layers +
           (m.cfg.freeze_bn ? "" : "; backbone batch norm in training mode (its running statistics move)");
    if (o.size <= 0) size = m.cfg.crop;  // the run's input size
  } else if (!o.weights.empty()) {
    const io::WeightFile file(o.weights);
    net = models::load_classifier(file);
    what = o.weights + ": " + file.meta().architecture + " " + file.meta().model.dump();
  } else {
    const nn::SkipInit skip;  // a summary shows shapes and counts, not values: drawing VGG-16's took ~8 s
    Rng rng(0);
    net = models::make_classifier(o.model, {{"num_classes", o.classes}}, rng);
    what = o.model + " (torchvision's layout, " + std::to_string(o.classes) + " classes)";
  }
  const models::ModelSummary s = models::summarize(*net, size);
  if (o.json) {
    auto j = s.json();
    j["model"] = what;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n%s", what.c_str(), s.text(o.depth).c_str());
  }
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("summary", "Show a model layer by layer: output shapes, parameters, what trains");
  auto o = std::make_shared<Options>();
  auto* model = cmd->add_option("--model", o->model, "architecture")
                    ->check(CLI::IsMember(sn::models::architectures()))
                    ->capture_default_str();
  auto* classes = cmd->add_option("--classes", o->classes, "with --model: outputs of the classifier")
                      ->check(CLI::PositiveNumber)
                      ->capture_default_str();
  auto* weights = cmd->add_option("--weights", o->weights, "the model a .snw weight file holds");
  auto* run = cmd->add_option("--run", o->run, "the model a training run trained (its head, what trains)");
  auto* epoch =
      cmd->add_option("--epoch", o->epoch, "with --run: which checkpoint (best, last, N)")->capture_default_str();
  cmd->add_option("--size", o->size, "input image size (default: 224, or the run's crop)")->check(CLI::Range(32, 4096));
  cmd->add_option("--depth", o->depth, "show this many levels of nesting (default: all)");
  cmd->add_flag("--json", o->json, "print one JSON document");
  weights->excludes(run)->excludes(model)->excludes(classes);
  run->excludes(model)->excludes(classes);
  epoch->needs(run);
  cmd->callback([o] { sn::cli::run([&] { return run_summary(*o); }); });
});
