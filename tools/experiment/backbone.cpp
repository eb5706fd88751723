#include "tools/experiment/backbone.h"

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
  Backbone b;
  b.net = models::load_classifier(file);
  b.preprocessing = file.meta().preprocessing;
  b.path = path;
  b.hash = hash_file(path);
  return b;
}

}  // namespace sn::train
