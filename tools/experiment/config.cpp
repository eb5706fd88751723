#include "tools/experiment/config.h"

#include "engine/cpu/conv2d_nchwc.h"

#include <algorithm>
#include <cmath>

#include "engine/check.h"
#include "models/zoo.h"

namespace sn::train {

Device resolve_device(const std::string& d) {
  if (d == "auto") return cuda_available() ? Device::CUDA : Device::CPU;
  if (d == "cuda") SN_USER_CHECK(cuda_available(), "--device cuda: ", cuda_unavailable_reason());
  return parse_device(d);
}

const std::vector<std::string>& train_models() {
  static const std::vector<std::string> names{"resnet50", "resnet18", "vgg16", "mobilenet_v2"};
  return names;
}

const std::vector<std::string>& trainable_layer_names(const std::string& model) {
  return models::trainable_layers(model);
}

bool trains_layer(const TrainConfig& c, const std::string& layer) {
  return std::find(c.train_layers.begin(), c.train_layers.end(), layer) != c.train_layers.end();
}

bool uses_feature_cache(const TrainConfig& c) {
  return c.freeze_bn && !c.augment && c.train_layers == std::vector<std::string>{models::head_name(c.model)};
}

void resolve(TrainConfig& c) {
  if (c.preset == "textbook") {
    SN_USER_CHECK(!c.freeze_bn,
                  "--preset textbook keeps the backbone's batch norm in training mode, as the textbook "
                  "does; it cannot be combined with --freeze-bn");
    c.normalize = false;
  } else {
    SN_USER_CHECK(c.preset.empty(), "unknown --preset '", c.preset, "' (the only preset is 'textbook')");
  }
  std::string models_list;
  for (const auto& m : train_models()) models_list += (models_list.empty() ? "" : ", ") + m;
  SN_USER_CHECK(std::find(train_models().begin(), train_models().end(), c.model) != train_models().end(),
                "unknown --model '", c.model, "' (choose ", models_list, ")");
  SN_USER_CHECK(c.device == "cpu" || c.device == "cuda" || c.device == "auto", "unknown --device '", c.device,
                "' (choose cpu, cuda or auto)");
  SN_USER_CHECK(c.epochs >= 1 && c.epochs <= 100000, "--epochs must be at least 1, got ", c.epochs);
  SN_USER_CHECK(c.batch_size >= 1, "--batch-size must be at least 1, got ", c.batch_size);
  SN_USER_CHECK(std::isfinite(c.lr) && c.lr > 0, "--lr must be a positive number, got ", c.lr);
  SN_USER_CHECK(c.workers >= 0 && c.workers <= 256, "--workers must be between 0 and 256, got ", c.workers);
  SN_USER_CHECK(c.crop >= 8 && c.resize >= c.crop, "image sizes need 8 <= crop <= resize, got resize ", c.resize,
                " crop ", c.crop);
  SN_USER_CHECK(!c.data.empty(), "--data is required: a folder with train/ and test/ sub-folders");
  SN_USER_CHECK(!c.out.empty(), "--out is required: the run directory to create");
  SN_USER_CHECK(c.precision == "fp32" || c.precision == "bf16", "unknown --precision '", c.precision,
                "' (choose fp32 or bf16)");
  // --train-layers: known names, the head always (it starts random), stored in forward order.
  const auto& known = trainable_layer_names(c.model);
  const std::string head = models::head_name(c.model);
  if (c.train_layers.empty()) c.train_layers = {head};
  std::string choices;
  for (const auto& l : known) choices += (choices.empty() ? "" : ", ") + l;
  for (const auto& l : c.train_layers)
    SN_USER_CHECK(std::find(known.begin(), known.end(), l) != known.end(), "unknown layer '", l,
                  "' in --train-layers (a ", c.model, " has ", choices, ")");
  SN_USER_CHECK(trains_layer(c, head), "--train-layers must include ", head,
                ": the new head starts random and "
                "always trains");
  std::vector<std::string> ordered;
  for (const auto& l : known)
    if (trains_layer(c, l)) ordered.push_back(l);
  c.train_layers = ordered;
  if (c.precision == "bf16") {
    SN_USER_CHECK(c.train_layers == std::vector<std::string>{head},
                  "--precision bf16 is for the frozen backbone: it "
                  "cannot be combined with --train-layers (the fine-tuned layers would train in float32)");
    SN_USER_CHECK(c.device != "cuda", "--precision bf16 runs on the CPU (AVX512_BF16); use --device cpu");
    SN_USER_CHECK(c.model.rfind("resnet", 0) == 0, "--precision bf16 runs on the fused ResNet path only; a ", c.model,
                  " trains in fp32");
    SN_USER_CHECK(cpu::nchwc::bf16_supported(),
                  "--precision bf16 needs a CPU with AVX512_BF16 (vdpbf16ps) and a "
                  "scratchnet built for it; this one has none: use --precision fp32");
  }
}

nlohmann::json to_json(const TrainConfig& c) {
  // Not saved: out (the run directory is where this file lives) and workers
  // (results do not depend on it), so that two runs with the same settings
  // write bit-identical checkpoints.
  return {{"data", c.data},
          {"model", c.model},
          {"weights", c.weights},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"lr", c.lr},
          {"seed", c.seed},
          {"device", c.device},
          {"preset", c.preset},
          {"freeze_bn", c.freeze_bn},
          {"normalize", c.normalize},
          {"augment", c.augment},
          {"train_layers", c.train_layers},
          {"resize", c.resize},
          {"crop", c.crop},
          {"feature_cache", uses_feature_cache(c)},
          {"precision", c.precision}};
}

TrainConfig config_from_json(const nlohmann::json& j, const std::string& path) {
  TrainConfig c;
  try {
    c.data = j.at("data").get<std::string>();
    c.model = j.at("model").get<std::string>();
    c.weights = j.at("weights").get<std::string>();
    c.epochs = j.at("epochs").get<int>();
    c.batch_size = j.at("batch_size").get<int>();
    c.lr = j.at("lr").get<double>();
    c.seed = j.at("seed").get<uint64_t>();
    c.device = j.at("device").get<std::string>();
    c.preset = j.at("preset").get<std::string>();
    c.freeze_bn = j.at("freeze_bn").get<bool>();
    c.normalize = j.at("normalize").get<bool>();
    c.augment = j.at("augment").get<bool>();
    c.train_layers = j.at("train_layers").get<std::vector<std::string>>();
    c.resize = j.at("resize").get<int>();
    c.crop = j.at("crop").get<int>();
    c.precision = j.value("precision", std::string("fp32"));  // runs from before the option: fp32
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL(path, ": configuration is missing a field or has a wrong type: ", e.what());
  }
  return c;
}

}  // namespace sn::train
