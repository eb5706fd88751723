// experiment/test_features.h — the test split's backbone features, computed by
// `train` in its feature pass and read back by `eval`.
//
// Why: with the backbone frozen and no augmentation (--freeze-bn --no-augment)
// every photo's features are fixed, so the run computes each of them once, in
// one process: `train` adds the test photos to its feature pass (inference mode,
// labels unused: nothing of the test split reaches the training) and saves them
// as RUN_DIR/test_features.bin; `eval` evaluates every checkpoint's head on them
// without loading the backbone. A second process loading, packing and running
// ResNet-50 again cost ~1 s of a ~12 s cached experiment (docs/EXPERIMENT.md).
//
// The file records what the features depend on (the key): the base weights'
// hash, the model, the test transform, the precision, and every test photo's
// path, size and modification time. `eval` uses the file only when the key is
// the one it would compute now, and says why not otherwise (then it computes
// the features itself, as before).
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/data/folder.h"
#include "engine/tensor.h"

namespace sn::train {

nlohmann::json test_features_key(const std::string& model, const std::string& base_weights_hash,
                                 const std::string& precision, const std::string& transform,
                                 const data::ImageFolder& test);

struct TestFeatures {
  Tensor features;        // (test images, num_features), in the folder's order
  std::string head_name;  // the head's name in checkpoints ("fc" for a ResNet)
};

// Written atomically (temp file, then rename).
void save_test_features(const std::string& path, const nlohmann::json& key, const TestFeatures& f);

// The features, when `path` holds them for exactly `key`; otherwise nothing,
// and *why says why ("no file", "the test photos changed", "unreadable: ...").
std::optional<TestFeatures> load_test_features(const std::string& path, const nlohmann::json& key, std::string* why);

}  // namespace sn::train
