// train_fixture.h — tiny trainings for the experiment's tests: a few real
// cat/dog photos (symlinked, never copied) and a random reduced-width
// ResNet-18 written as a .snw file, so a whole run takes about a second.
#pragma once
#include <string>

#include "tools/experiment/config.h"

namespace sn::test {

// build/test_runs/tinydata/{train,test}/{Cat,Dog}: `per_class` training and
// `per_class / 2` test photos per class, as symlinks to ../shared/datasets/catanddog.
std::string tiny_data(int per_class = 8);

// build/test_runs/tiny-<arch>-w<width>.snw: a random ResNet (fixed seed) of that width.
std::string tiny_weights(const std::string& arch = "resnet18", int width = 8);

// A fresh, empty run directory path build/test_runs/<name> (removed if present).
std::string fresh_run_dir(const std::string& name);

// A configuration for a tiny training: resnet18 width 8, 32x32 crops, batch 4, 3 epochs.
train::TrainConfig tiny_config(const std::string& out);

}  // namespace sn::test
