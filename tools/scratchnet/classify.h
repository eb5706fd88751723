// classify.h — `scratchnet predict`'s loop, shared by its two sources of a
// model (a weight file, or a training run with --run): decode and transform
// the images a batch at a time, run the model, print the most probable
// classes as text or as one JSON document.
//
// Bad input as everywhere else: a file that cannot be read or decoded is named
// on stderr with the reason, the other images are still classified, and the
// exit status is 2 when some images failed (0 when all were classified).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data/transforms.h"
#include "engine/tensor.h"

namespace sn::cli {

struct Classifier {
  std::vector<std::string> labels;                   // class names by output index (may be shorter)
  data::Compose transform;                           // image -> (3, H, W) input
  std::function<Tensor(const Tensor&)> forward;      // (N, 3, H, W) CPU input -> (N, classes) logits, any device
  nlohmann::json header = nlohmann::json::object();  // leading fields of the JSON document
  std::string text_header;                           // first line of the text output ("" = none)

  // Near-tie recheck (bfloat16 predictions): bfloat16 rounding moves the
  // logits by up to about `recheck_margin`, so an image whose two largest
  // logits are closer than that could be ranked differently than in float32.
  // Those images alone are classified again with `recheck` (the float32
  // forward) and the answer says so; every other image keeps the fast answer,
  // which the margin guarantees is float32's top-1. Unset: no recheck.
  std::function<Tensor(const Tensor&)> recheck;
  float recheck_margin = 0.f;
};

struct ClassifyOptions {
  bool json = false;
  int batch = 8;
  int top = 5;
  // Hidden --dump: called once at the end with every input (N, 3, H, W) and the logits (N, classes), CPU.
  std::function<void(const Tensor& inputs, const Tensor& logits)> dump;
};

// Returns the exit status: 0, or 2 when some images could not be classified.
int classify_images(const Classifier& c, const std::vector<std::string>& images, const ClassifyOptions& o);

}  // namespace sn::cli
