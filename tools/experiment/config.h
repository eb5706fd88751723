// experiment/config.h — every setting of a training run, resolved once and saved
// as RUN_DIR/config.json, so a run can be resumed, evaluated and reported
// without the original command line.
//
// The two behaviours the textbook leaves implicit are explicit fields:
//   freeze_bn  false: the whole model is in training mode while training (the
//              textbook), so the frozen backbone's batch norm normalizes with
//              batch statistics and keeps updating its running statistics;
//              true: the backbone stays in inference mode.
//   normalize  true: the input preprocessing recorded in the weight file
//              (channel order, scale, mean, std); false: none (the textbook's
//              ToTensor only: RGB in [0, 1]).
// preset "textbook" = freeze_bn false + normalize false.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/device.h"

namespace sn::train {

struct TrainConfig {
  std::string data;                // folder with train/<class>/ and test/<class>/
  std::string out;                 // RUN_DIR
  std::string model = "resnet50";  // one of train_models(): resnet50 | resnet18 | vgg16 | mobilenet_v2
  std::string weights;             // .snw base weights ("" = the converted npm ResNet-50)
  int epochs = 13;
  int batch_size = 32;
  double lr = 1e-3;
  uint64_t seed = 0;
  int workers = 2;              // data loading threads; results do not depend on it
  std::string device = "auto";  // cpu | cuda | auto
  std::string preset;           // "" | "textbook"
  bool freeze_bn = false;
  bool normalize = true;
  bool augment = true;
  // What trains, in forward order: the new head (named as the network's own:
  // "fc", "classifier.6", "classifier.1") and any fine-tuned layers ("layer4",
  // "features.18"). Empty: resolve() makes it the head alone.
  std::vector<std::string> train_layers;
  std::string precision = "fp32";  // fp32 | bf16: the frozen backbone's arithmetic on the CPU (head, loss, Adam: fp32)
  // The image sizes of the transforms (the textbook's: Resize 256x256 then
  // RandomResizedCrop 224 for training; Resize 224, CenterCrop 224 for test).
  // Only tests change them, to train tiny models fast.
  int resize = 256;
  int crop = 224;

  // Not part of the saved configuration: how this process runs.
  bool quiet = false;
  int threads = 0;                     // compute threads (0: all cores)
  int64_t cache_mb = 1024;             // the training loader's cache of decoded, resized images (MiB; 0: none)
  int64_t stop_after_batches = -1;     // test hook: stop (as if killed) after this many batches in total
  int slow_batch_ms = 0;               // test hook: sleep this long after each batch (so a test can signal mid-run)
  std::string program = "scratchnet";  // how the user ran us (argv[0]), for the commands messages print
};

// Applies the preset and checks every field; errors say which option is wrong.
void resolve(TrainConfig& c);

// Backbone batch norm in training mode while training (the textbook's behaviour)?
inline bool backbone_bn_trains(const TrainConfig& c) { return !c.freeze_bn; }
// Only the head trains on a backbone in inference mode and the training
// transform is deterministic: compute the features once, train on them.
bool uses_feature_cache(const TrainConfig& c);
bool trains_layer(const TrainConfig& c, const std::string& layer);

// config.json holds the fields that define the result (not quiet/threads/hooks).
nlohmann::json to_json(const TrainConfig& c);
TrainConfig config_from_json(const nlohmann::json& j, const std::string& path);

// "auto": CUDA when a GPU is usable, else the CPU; "cuda" without a GPU is an error saying why.
Device resolve_device(const std::string& device);

// The backbones `train --model` accepts.
const std::vector<std::string>& train_models();
// The layers --train-layers accepts for `model`, in forward order (models::trainable_layers).
const std::vector<std::string>& trainable_layer_names(const std::string& model);

}  // namespace sn::train
