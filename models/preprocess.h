// preprocess.h — the input pipeline a weight file asks for (io::Preprocessing).
//
// Built from the data pipeline's torchvision-equivalent transforms:
//   Resize(resize) -> CenterCrop(crop) -> ToTensor -> [SwapRB if BGR] -> Normalize
// ToTensor yields t = pixel / 255 (RGB). The file specifies
//   input[c] = (pixel[c] * scale - mean[c]) / std[c]   (channels in channel_order)
//            = (t[c] - mean[c] / (255 scale)) / (std[c] / (255 scale)),
// so one Normalize with rescaled mean and std does it: for torchvision weights
// (scale 1/255) that is Normalize(ImageNet mean, std) exactly; for the Keras
// weights (BGR, scale 1, mean 103.939..., std 1) it is pixel - mean to within
// float rounding (|error| < 1e-4 on values of order 100).
#pragma once
#include <vector>

#include "engine/data/transforms.h"
#include "engine/io/weight_file.h"

namespace sn::models {

// The steps after ToTensor: channel order, then normalization.
std::vector<data::TransformPtr> input_normalization(const io::Preprocessing& p);

// Evaluation pipeline: Resize(p.resize) (shorter side), CenterCrop(p.crop), ToTensor, input_normalization(p).
data::Compose eval_transform(const io::Preprocessing& p);

}  // namespace sn::models
