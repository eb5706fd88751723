// experiment/experiment_data.h — the data side of the experiment: the two splits
// of the data folder and the textbook's transforms.
//
//   training:  Resize((256, 256)), RandomResizedCrop(224), RandomHorizontalFlip(), ToTensor()
//              (--no-augment: the test transform, so it is deterministic)
//   test:      Resize(224), CenterCrop(224), ToTensor()
// followed, unless --no-normalize, by the normalization recorded in the
// weight file (channel order, scale, mean, std: models/preprocess.h).
#pragma once
#include <string>

#include "engine/data/folder.h"
#include "engine/data/transforms.h"
#include "engine/io/weight_file.h"
#include "tools/experiment/config.h"

namespace sn::train {

struct Splits {
  data::ImageFolder train, test;
};

// DIR/train/<class>/ and DIR/test/<class>/ with the same class folders;
// errors name the folder and say what is expected.
Splits scan_splits(const std::string& dir);

data::Compose train_transform(const TrainConfig& c, const io::Preprocessing& p);
data::Compose test_transform(const TrainConfig& c, const io::Preprocessing& p);

}  // namespace sn::train
