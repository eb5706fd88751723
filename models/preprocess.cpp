#include "models/preprocess.h"

namespace sn::models {

std::vector<data::TransformPtr> input_normalization(const io::Preprocessing& p) {
  std::vector<data::TransformPtr> steps;
  if (p.channel_order == "BGR") steps.push_back(std::make_shared<data::SwapRB>());
  const double k = 255.0 * p.scale;  // ToTensor already divided by 255
  std::array<float, 3> mean{}, std{};
  for (int c = 0; c < 3; ++c) {
    mean[c] = static_cast<float>(p.mean[c] / k);
    std[c] = static_cast<float>(p.std[c] / k);
  }
  steps.push_back(std::make_shared<data::Normalize>(mean, std));
  return steps;
}

data::Compose eval_transform(const io::Preprocessing& p) {
  std::vector<data::TransformPtr> steps = {std::make_shared<data::Resize>(p.resize),
                                           std::make_shared<data::CenterCrop>(p.crop),
                                           std::make_shared<data::ToTensor>()};
  for (auto& s : input_normalization(p)) steps.push_back(s);
  return data::Compose(steps);
}

}  // namespace sn::models
