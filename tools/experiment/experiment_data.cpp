#include "tools/experiment/experiment_data.h"

#include <memory>

#include "engine/check.h"
#include "models/preprocess.h"
#include "tools/experiment/run_dir.h"

namespace sn::train {

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

Splits scan_splits(const std::string& dir) {
  SN_USER_CHECK(is_directory(dir), "data folder ", dir, " does not exist or is not a folder: expected ", dir,
                "/train/<class>/ and ", dir,
                "/test/<class>/, one folder of images per class (e.g. train/Cat/, "
                "train/Dog/)");
  for (const char* split : {"train", "test"})
    SN_USER_CHECK(is_directory(dir + "/" + split), "data folder ", dir, " has no ", split, "/ sub-folder: expected ",
                  dir, "/train/<class>/ and ", dir, "/test/<class>/ with one folder per class");
  Splits s{data::ImageFolder::scan(dir + "/train"), data::ImageFolder::scan(dir + "/test")};
  SN_USER_CHECK(s.train.classes == s.test.classes, "data folder ", dir,
                ": the class folders differ between train/ and test/: train has [", join(s.train.classes),
                "], test has [", join(s.test.classes), "]");
  return s;
}

static data::Compose finish(std::vector<data::TransformPtr> steps, const TrainConfig& c, const io::Preprocessing& p) {
  steps.push_back(std::make_shared<data::ToTensor>());
  if (c.normalize)
    for (auto& t : models::input_normalization(p)) steps.push_back(t);
  return data::Compose(std::move(steps));
}

data::Compose test_transform(const TrainConfig& c, const io::Preprocessing& p) {
  return finish({std::make_shared<data::Resize>(c.crop), std::make_shared<data::CenterCrop>(c.crop)}, c, p);
}

data::Compose train_transform(const TrainConfig& c, const io::Preprocessing& p) {
  if (!c.augment) return test_transform(c, p);
  return finish({std::make_shared<data::Resize>(c.resize, c.resize), std::make_shared<data::RandomResizedCrop>(c.crop),
                 std::make_shared<data::RandomHorizontalFlip>()},
                c, p);
}

}  // namespace sn::train
