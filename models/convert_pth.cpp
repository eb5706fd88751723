// torchvision .pth -> .snw, and the helpers both converters share.
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "engine/check.h"
#include "engine/io/pth_reader.h"
#include "engine/nn/init.h"
#include "models/convert.h"

namespace sn::models {

std::vector<std::string> read_labels(const std::string& path) {
  std::ifstream in(path);
  SN_USER_CHECK(in.good(), "cannot open labels file ", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL(path, ": not valid JSON: ", e.what());
  }
  std::vector<std::string> labels;
  if (j.is_array()) {
    for (const auto& x : j) labels.push_back(x.get<std::string>());
  } else {
    SN_USER_CHECK(j.is_object(), path, ": labels must be a JSON array or an object {\"0\": name, ...}");
    labels.resize(j.size());
    for (const auto& [k, v] : j.items()) {
      size_t idx = 0;
      try {
        idx = std::stoul(k);
      } catch (...) {
        SN_USER_FAIL(path, ": label key '", k, "' is not a class index");
      }
      SN_USER_CHECK(idx < labels.size() && labels[idx].empty(), path, ": label keys must be 0..", labels.size() - 1,
                    " once each, got '", k, "'");
      labels[idx] = v.get<std::string>();
    }
  }
  return labels;
}

std::vector<int> blocks_per_stage(const std::map<std::string, Tensor>& tensors) {
  std::vector<int> blocks(4, 0);
  static const std::regex block_re(R"(layer([1-4])\.(\d+)\..*)");
  std::smatch m;
  for (const auto& [name, v] : tensors)
    if (std::regex_match(name, m, block_re))
      blocks[std::stoi(m[1]) - 1] = std::max(blocks[std::stoi(m[1]) - 1], std::stoi(m[2]) + 1);
  return blocks;
}

nn::NamedTensors match_model(const ResNetConfig& cfg, const std::map<std::string, Tensor>& tensors,
                             const std::string& source) {
  Rng rng(0);
  const nn::SkipInit skip;
  const ResNet model(cfg, rng);  // only its names and shapes are used
  nn::NamedTensors out;
  std::vector<std::string> problems;
  std::set<std::string> used;
  for (const auto& [name, slot] : model.state_dict()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      problems.push_back("missing tensor '" + name + "' " + to_string(slot.shape()));
    } else if (it->second.shape() != slot.shape()) {
      problems.push_back("tensor '" + name + "' has shape " + to_string(it->second.shape()) + ", " + cfg.arch +
                         " expects " + to_string(slot.shape()));
    } else {
      out.emplace_back(name, it->second);
      used.insert(name);
    }
  }
  for (const auto& [name, t] : tensors)
    if (!used.count(name) && problems.size() < 20) problems.push_back("unexpected tensor '" + name + "'");
  if (!problems.empty()) {
    std::string msg = source + " does not convert to a " + cfg.arch + ": ";
    for (size_t i = 0; i < problems.size() && i < 8; ++i) msg += (i ? "; " : "") + problems[i];
    if (problems.size() > 8) msg += "; ...";
    SN_USER_FAIL(msg);
  }
  return out;
}

// The architecture whose blocks-per-stage and block type match the state_dict's names.
static std::string infer_arch(const std::map<std::string, Tensor>& t, const std::string& path) {
  const std::vector<int> blocks = blocks_per_stage(t);
  const bool bottleneck = t.count("layer1.0.conv3.weight") > 0;
  for (const char* arch : {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}) {
    const ResNetLayout l = resnet_layout(arch);
    if (l.blocks == blocks && l.bottleneck == bottleneck) return arch;
  }
  SN_USER_FAIL(path, ": the tensor names match no ResNet (blocks per stage ", blocks[0], ",", blocks[1], ",", blocks[2],
               ",", blocks[3], bottleneck ? ", bottleneck" : ", basic", " blocks)");
}

Converted convert_pth(const std::string& path, const PthOptions& opt) {
  const io::PthStateDict sd = io::read_pth(path);
  Converted c;
  std::map<std::string, Tensor> tensors;
  int dropped = 0;
  for (const auto& t : sd.tensors) {
    if (t.value.defined()) {
      tensors[t.name] = t.value;
      if (t.dtype != "float32") c.notes.push_back("converted '" + t.name + "' from " + t.dtype + " to float32");
    } else {
      const std::string suffix = "num_batches_tracked";
      SN_USER_CHECK(t.name.size() >= suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0,
                    path, ": tensor '", t.name, "' has dtype ", t.dtype, "; a ResNet has only floating tensors");
      ++dropped;
    }
  }
  if (dropped)
    c.notes.push_back("dropped " + std::to_string(dropped) +
                      " int64 num_batches_tracked counters (unused in inference and with a fixed momentum)");

  ResNetConfig cfg;
  cfg.arch = infer_arch(tensors, path);
  SN_USER_CHECK(opt.arch.empty() || opt.arch == cfg.arch, path, ": --arch ", opt.arch,
                " was given but the file holds a ",
                cfg.arch);
  auto dim0 = [&](const char* name) -> int {
    auto it = tensors.find(name);
    SN_USER_CHECK(it != tensors.end() && it->second.ndim() >= 1, path, ": missing tensor '", name, "'");
    return static_cast<int>(it->second.size(0));
  };
  cfg.width = dim0("conv1.weight");
  cfg.num_classes = dim0("fc.weight");
  cfg.block_stride = opt.block_stride;
  cfg.bn_eps = opt.bn_eps;

  c.tensors = match_model(cfg, tensors, path);
  c.meta.architecture = cfg.arch;
  c.meta.model = cfg.to_json();
  c.meta.preprocessing = io::Preprocessing{};  // torchvision: RGB, /255, ImageNet mean and std
  c.meta.metadata = {{"converted_from", path}, {"format", "PyTorch state_dict (.pth, zip)"}};
  return c;
}

}  // namespace sn::models
