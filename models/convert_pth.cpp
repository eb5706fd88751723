// torchvision .pth -> .snw, and the helpers both converters share.
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "engine/check.h"
#include "engine/io/pth_reader.h"
#include "engine/nn/init.h"
#include "models/convert.h"
#include "models/mobilenet_v2.h"
#include "models/vgg.h"
#include "models/zoo.h"

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
  return match_model(model, cfg.arch, tensors, source);
}

nn::NamedTensors match_model(const nn::Module& model, const std::string& arch,
                             const std::map<std::string, Tensor>& tensors, const std::string& source) {
  nn::NamedTensors out;
  std::vector<std::string> problems;
  std::set<std::string> used;
  for (const auto& [name, slot] : model.state_dict()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      problems.push_back("missing tensor '" + name + "' " + to_string(slot.shape()));
    } else if (it->second.shape() != slot.shape()) {
      problems.push_back("tensor '" + name + "' has shape " + to_string(it->second.shape()) + ", " + arch +
                         " expects " + to_string(slot.shape()));
    } else {
      out.emplace_back(name, it->second);
      used.insert(name);
    }
  }
  for (const auto& [name, t] : tensors)
    if (!used.count(name) && problems.size() < 20) problems.push_back("unexpected tensor '" + name + "'");
  if (!problems.empty()) {
    std::string msg = source + " does not convert to a " + arch + ": ";
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

namespace {

int dim0(const std::map<std::string, Tensor>& t, const std::string& name, const std::string& path) {
  auto it = t.find(name);
  SN_USER_CHECK(it != t.end() && it->second.ndim() >= 1, path, ": missing tensor '", name, "'");
  return static_cast<int>(it->second.size(0));
}

// torchvision's VGG-16: features.N convs with biases, classifier.0/3/6.
bool looks_like_vgg(const std::map<std::string, Tensor>& t) {
  return t.count("features.0.weight") && t.count("classifier.6.weight");
}
// torchvision's MobileNetV2: features.0.0 (the stem's conv), classifier.1.
bool looks_like_mobilenet_v2(const std::map<std::string, Tensor>& t) {
  return t.count("features.0.0.weight") && t.count("classifier.1.weight");
}

VGGConfig vgg_config(const std::map<std::string, Tensor>& t, const std::string& path) {
  VGGConfig c;
  c.width = dim0(t, "features.0.weight", path);
  c.hidden = dim0(t, "classifier.0.weight", path);
  c.num_classes = dim0(t, "classifier.6.weight", path);
  return c;
}

// The channels are all a MobileNetV2 file says about its width: the first
// (width_mult, round_nearest) that gives each block's output channels (the
// last projection conv of features.1..17, the stem's conv) is the layout.
MobileNetV2Config mobilenet_v2_config(const std::map<std::string, Tensor>& t, const std::string& path, double eps) {
  std::vector<int> want{dim0(t, "features.0.0.weight", path)};
  for (int i = 1; i <= 17; ++i) {
    const std::string p = "features." + std::to_string(i) + ".conv.";
    want.push_back(dim0(t, p + (t.count(p + "3.weight") ? "2.weight" : "1.weight"), path));
  }
  MobileNetV2Config c;
  c.bn_eps = eps;
  c.last_channel = dim0(t, "features.18.0.weight", path);
  c.num_classes = dim0(t, "classifier.1.weight", path);
  // Nearest to torchvision's (1.0, 8) first, so that its own files record width_mult 1.
  for (int rn : {8, 4, 2, 1})
    for (int d = 0; d <= 399; ++d)
      for (int k : {100 + d, 100 - d}) {
        if (k < 1 || k > 400) continue;
        c.round_nearest = rn;
        c.width_mult = k / 100.0;
        if (block_channels(c) == want) return c;
      }
  SN_USER_FAIL(path,
               ": the channels of its blocks match no MobileNetV2 width (width_mult 0.01..4, round_nearest 8, "
               "4, 2, 1)");
}

}  // namespace

nn::NamedTensors match_backbone(const std::string& arch, const std::map<std::string, Tensor>& tensors,
                                const std::string& source, double bn_eps, nlohmann::json& options) {
  SN_CHECK(arch == "vgg16" || arch == "mobilenet_v2", "match_backbone: ", arch);
  options =
      arch == "vgg16" ? vgg_config(tensors, source).to_json() : mobilenet_v2_config(tensors, source, bn_eps).to_json();
  Rng rng(0);
  const nn::SkipInit skip;
  const auto model = make_classifier(arch, options, rng);  // only its names and shapes are used
  return match_model(*model, arch, tensors, source);
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
      SN_USER_CHECK(
          t.name.size() >= suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0,
          path, ": tensor '", t.name, "' has dtype ", t.dtype, "; the networks have only floating tensors");
      ++dropped;
    }
  }
  if (dropped)
    c.notes.push_back("dropped " + std::to_string(dropped) +
                      " int64 num_batches_tracked counters (unused in inference and with a fixed momentum)");

  c.meta.preprocessing = io::Preprocessing{};  // torchvision: RGB, /255, ImageNet mean and std
  c.meta.metadata = {{"converted_from", path}, {"format", "PyTorch state_dict (.pth, zip)"}};
  if (looks_like_vgg(tensors) || looks_like_mobilenet_v2(tensors)) {
    const bool vgg = looks_like_vgg(tensors);
    const std::string arch = vgg ? "vgg16" : "mobilenet_v2";
    SN_USER_CHECK(opt.arch.empty() || opt.arch == arch, path, ": --arch ", opt.arch, " was given but the file holds a ",
                  arch);
    nlohmann::json options;
    c.tensors = match_backbone(arch, tensors, path, opt.bn_eps, options);
    c.meta.architecture = arch;
    c.meta.model = options;
    return c;
  }
  ResNetConfig cfg;
  cfg.arch = infer_arch(tensors, path);
  SN_USER_CHECK(opt.arch.empty() || opt.arch == cfg.arch, path, ": --arch ", opt.arch,
                " was given but the file holds a ", cfg.arch);
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
  return c;
}

}  // namespace sn::models
