// experiment/samples_grid.h — the textbook's picture of the training data: the
// first 24 samples of epoch 1 exactly as the model sees them (same crops and
// flips: the loader derives each sample's augmentation from the seed, the
// epoch and the sample), without normalization, captioned with their labels.
#pragma once
#include <string>

#include "engine/data/folder.h"
#include "engine/data/transforms.h"

namespace sn::train {

// `display_transform`: the training transform without normalization (values in [0, 1]).
void write_training_grid(const std::string& png_path, const data::ImageFolder& train,
                         const data::Compose& display_transform, uint64_t seed, int count = 24);

}  // namespace sn::train
