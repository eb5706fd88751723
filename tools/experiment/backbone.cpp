#include "tools/experiment/backbone.h"

#include <future>

#include "engine/check.h"
#include "models/pretrained.h"
#include "models/zoo.h"
#include "tools/experiment/checkpoint.h"

namespace sn::train {

std::string resolve_weights(const std::string& model, const std::string& weights) {
  return weights.empty() ? models::pretrained_weights(model) : weights;
}

Backbone load_backbone(const std::string& model, const std::string& path) {
  io::WeightFile file(path);
  const std::string& arch = file.meta().architecture;
  SN_USER_CHECK(arch == model, "weight file ", path, " holds a ", arch, ", but the model is ", model, " (pass --model ",
                arch, " or the weights of a ", model, ")");
  // The hash (~0.1 s for ResNet-50's 100 MB: FNV-1a is one serial chain) runs
  // beside building the network and copying the weights in, which use one core.
  std::future<std::string> hash = std::async(std::launch::async, hash_file, path);
  Backbone b;
  b.net = models::load_classifier(file);
  b.preprocessing = file.meta().preprocessing;
  b.path = path;
  b.hash = hash.get();
  return b;
}

}  // namespace sn::train
